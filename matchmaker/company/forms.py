"""The solution profile form."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, StopValidation, ValidationError

from matchmaker.fields import MultiCheckboxField, WholeNumberField
from matchmaker.services.solutions import SOLUTION_FIELD_LABELS as L
from matchmaker.services.solutions import SolutionInput
from models.codes import COLLABORATION_FORMS, DOMAINS, MATURITY, PREFECTURE_LABELS, PREFECTURES


class AtLeastOne:
    """At least one choice ticked (without the HTML ``required`` flag on every checkbox)."""

    def __init__(self, message: Any) -> None:
        self.message = message

    def __call__(self, form: Any, field: Field) -> None:
        if not field.data:
            raise StopValidation(self.message)


def _choices(table: dict[str, Any]) -> list[SelectChoice]:
    return [SelectChoice(code, label) for code, label in table.items()]


class SolutionForm(FlaskForm):
    title = StringField(L["title"], validators=[
        DataRequired(message=_l("製品・サービス名を入力してください。")),
        Length(max=200, message=_l("200文字以内で入力してください。")),
    ])
    summary = TextAreaField(L["summary"], validators=[
        DataRequired(message=_l("何ができるのかを入力してください。")),
        Length(max=4000, message=_l("4000文字以内で入力してください。")),
    ], description=_l("何ができるのか、どのように課題を解決するのかを具体的に書いてください。"))
    target_users = TextAreaField(L["target_users"], validators=[Length(max=2000)],
                                 description=_l("例：市町村の介護予防担当課、地域包括支援センター"))
    track_record = TextAreaField(L["track_record"], validators=[Length(max=4000)],
                                 description=_l("自治体名・時期・規模など。実証のみの場合もその旨を書いてください。"))
    evidence = TextAreaField(L["evidence"], validators=[Length(max=4000)],
                             description=_l("数値で示せる効果（例：参加継続率が9ポイント改善）"))
    price_min = WholeNumberField(
        L["price_min"], message=_l("金額は数字（円単位）で入力してください。例：1200000 または 120万"),
        range_message=_l("金額は0円以上で入力してください。"),
        description=_l("円単位。「120万」のようにも入力できます。年額など前提は概要に書いてください。"))
    price_max = WholeNumberField(
        L["price_max"], message=_l("金額は数字（円単位）で入力してください。例：1200000 または 120万"),
        range_message=_l("金額は0円以上で入力してください。"))
    lead_time_weeks = WholeNumberField(
        L["lead_time_weeks"], message=_l("週数を数字で入力してください。"), maximum=520,
        range_message=_l("導入までの期間は0〜520週で入力してください。"),
        description=_l("契約から利用開始までのおおよその週数"))
    regions = MultiCheckboxField(L["regions"], choices=[SelectChoice(p, PREFECTURE_LABELS[p]) for p in PREFECTURES],
                                 description=_l("選ばない場合は全国対応として扱います。"))
    maturity = RadioField(L["maturity"], choices=_choices(MATURITY), default="in_service",
                          validators=[DataRequired(message=_l("成熟度を選んでください。"))])
    collaboration_forms = MultiCheckboxField(L["collaboration_forms"], choices=_choices(COLLABORATION_FORMS))
    domains = MultiCheckboxField(L["domains"], choices=_choices(DOMAINS),
                                 validators=[AtLeastOne(_l("分野を1つ以上選んでください。"))],
                                 description=_l("1つ以上選んでください。推薦の精度に影響します。"))

    def validate_price_max(self, field: Field) -> None:
        low, high = self.price_min.data, field.data
        if low is not None and high is not None and low > high:
            raise ValidationError(_l("価格の上限は下限以上の金額にしてください。"))

    def to_input(self) -> SolutionInput:
        return SolutionInput(
            title=self.title.data or "",
            summary=self.summary.data or "",
            target_users=self.target_users.data or "",
            track_record=self.track_record.data or "",
            evidence=self.evidence.data or "",
            price_min=self.price_min.data,
            price_max=self.price_max.data,
            lead_time_weeks=self.lead_time_weeks.data,
            regions=list(self.regions.data or ()),
            maturity=self.maturity.data or "",
            collaboration_forms=list(self.collaboration_forms.data or ()),
            domains=list(self.domains.data or ()),
        )
