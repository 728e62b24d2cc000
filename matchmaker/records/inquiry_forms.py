"""Forms of the 第三者意見照会: staff start it, the company states its view, staff record the release."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from matchmaker.services.third_party import VIEWS

LONG = 10_000


class StartInquiryForm(FlaskForm):
    organisation_id = SelectField(_l("照会する事業者"), coerce=int,
                                  validators=[InputRequired(message=_l("事業者を選んでください。"))])
    deadline = DateField(_l("意見の提出期限"), validators=[Optional()],
                         description=_l("空欄のときは2週間後です。期限までは、事業者の意見なしに開示を記録できません。"))
    request_note = TextAreaField(_l("開示請求の内容"), validators=[Length(max=LONG)],
                                 description=_l("事業者に伝わります。請求者を特定できる情報は書かないでください。"))


class ViewForm(FlaskForm):
    view = RadioField(_l("開示についての意見"), choices=[SelectChoice(code, label) for code, label in VIEWS.items()],
                      validators=[InputRequired(message=_l("同意か不同意かを選んでください。"))])
    reason = TextAreaField(_l("理由"), validators=[Length(max=LONG)],
                           description=_l("不同意の場合は必須です。どの部分の開示で、どのような利益が害されるかを記入してください。"))


class ReleaseForm(FlaskForm):
    note = TextAreaField(_l("開示の記録（決定の理由など）"), validators=[Length(max=LONG)],
                         description=_l("事業者が不同意のときは必須です。事業者に通知されます。"))
