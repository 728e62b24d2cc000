"""The challenge form: every field of docs/fields.md as structured language."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from matchmaker.fields import MultiCheckboxField, YenField
from matchmaker.i18n import fiscal_year_of, format_fiscal_year
from matchmaker.services.clarity import FIELD_LABELS
from models.codes import COLLABORATION_FORMS, DOMAINS, SDG_GOALS


def _choices(table: dict[str, Any]) -> list[SelectChoice]:
    return [SelectChoice(code, label) for code, label in table.items()]


def _optional_int(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(value)


class ChallengeForm(FlaskForm):
    title = StringField(FIELD_LABELS["title"], validators=[DataRequired(message=_l("課題名を入力してください。")),
                                                           Length(max=200)],
                        description=_l("「誰の・何の課題か」が一目で分かる名前に。例：高齢者のフレイル予防に向けた通いの場の参加促進"))
    background = TextAreaField(FIELD_LABELS["background"], validators=[Optional(), Length(max=10_000)],
                               description=_l("これまでの経緯と現状を、数字（件数・人数・割合）を交えて。"))
    problem = TextAreaField(FIELD_LABELS["problem"], validators=[Optional(), Length(max=10_000)],
                            description=_l("誰が・何に困っているか・どの程度か。「〜を導入したい」のような手段ではなく、困りごとを書きます。"))
    causes = TextAreaField(FIELD_LABELS["causes"], validators=[Optional(), Length(max=10_000)],
                           description=_l("なぜその課題が起きているか。分かっている範囲で。"))
    affected = TextAreaField(FIELD_LABELS["affected"], validators=[Optional(), Length(max=10_000)],
                             description=_l("困っている住民・職員・事業者は誰か。おおよその人数も。"))
    target_state = TextAreaField(FIELD_LABELS["target_state"], validators=[Optional(), Length(max=10_000)],
                                 description=_l("解決したとき、誰がどうなっているか。"))
    kpis = TextAreaField(FIELD_LABELS["kpis"], validators=[Optional(), Length(max=10_000)],
                         description=_l("1行に1つ、「指標: 現状値 → 目標値」の形で。例：通いの場の参加率: 8% → 12%"))
    constraints = TextAreaField(FIELD_LABELS["constraints"], validators=[Optional(), Length(max=10_000)],
                                description=_l("法令・条例、データの扱い、職員体制など。なければ「特になし」。"))
    offerings = TextAreaField(FIELD_LABELS["offerings"], validators=[Optional(), Length(max=10_000)],
                              description=_l("実証フィールド、データ、職員の関与、予算など。"))
    budget_min = YenField(FIELD_LABELS["budget_min"], validators=[Optional()],
                          description=_l("円単位。「300万」のようにも入力できます。未定なら空欄。"))
    budget_max = YenField(FIELD_LABELS["budget_max"], validators=[Optional()])
    fiscal_year = SelectField(FIELD_LABELS["fiscal_year"], coerce=_optional_int, validators=[Optional()],
                              description=_l("予算を執行する年度。4月〜翌3月。"))
    collaboration_forms = MultiCheckboxField(FIELD_LABELS["collaboration_forms"],
                                             choices=_choices(COLLABORATION_FORMS))
    domains = MultiCheckboxField(FIELD_LABELS["domains"], choices=_choices(DOMAINS))
    sdgs = MultiCheckboxField(FIELD_LABELS["sdgs"], coerce=int,
                              choices=[SelectChoice(n, _l("%(n)d. %(name)s", n=n, name=name))  # type: ignore[arg-type]
                                       for n, name in SDG_GOALS.items()])
    deadline = DateField(FIELD_LABELS["deadline"], validators=[Optional()],
                         description=_l("企業が提案を準備できるよう、2週間以上先の日付に。"))
    contact_department = StringField(FIELD_LABELS["contact_department"], validators=[Optional(), Length(max=200)],
                                     description=_l("例：保健福祉局 高齢福祉課"))

    def __init__(self, *args: Any, today: date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fiscal_year.choices = fiscal_year_choices(today or date.today(), self.fiscal_year.data)

    def validate_budget_max(self, field: YenField) -> None:
        low = self.budget_min.data
        if low is not None and field.data is not None and low > field.data:
            raise ValidationError(_l("予算の上限は下限以上の金額にしてください。"))

    def values(self) -> dict[str, Any]:
        """The field values by model field name, as the service and the clarity check read them."""
        return {name: self[name].data for name in FIELD_LABELS}


def fiscal_year_choices(today: date, current: int | None) -> list[SelectChoice]:
    this_year = fiscal_year_of(today)
    years = set(range(this_year - 1, this_year + 4))
    if isinstance(current, int) and 2000 <= current <= 2100:  # a stored year; a posted 0 or -1467800 is no choice
        years.add(current)
    return [SelectChoice("", "—")] + [SelectChoice(year, format_fiscal_year(year))  # type: ignore[arg-type]
                                      for year in sorted(years)]


class MoveForm(FlaskForm):
    to = HiddenField(validators=[DataRequired()])
    reason = TextAreaField(_l("理由・メモ"), validators=[Optional(), Length(max=2_000)])


class ReviewCommentForm(FlaskForm):
    comment = TextAreaField(_l("確認コメント"), validators=[Optional(), Length(max=5_000)],
                            description=_l("自治体の担当者に表示されます。どこをどう直すとよいかを具体的に。"))


class CriterionForm(FlaskForm):
    """One weighted criterion of a challenge's evaluation sheet (評価項目と配点)."""

    name = StringField(_l("評価項目"), validators=[DataRequired(message=_l("評価項目を入力してください。")),
                                                Length(max=120)],
                       description=_l("例：課題の理解度、実現可能性、費用の妥当性"))
    weight = IntegerField(_l("重み（配点）"), validators=[DataRequired(message=_l("重みを1〜100で入力してください。")),
                                                       NumberRange(min=1, max=100,
                                                                   message=_l("重みを1〜100で入力してください。"))])


class ScoreSheetForm(FlaskForm):
    """CSRF only: the scores arrive as ``score-<criterion id>`` fields for one proposal."""


class SelectionForm(FlaskForm):
    """提案の選定: one proposal and the reason; the selection evidence pack freezes with it."""

    proposal_id = SelectField(_l("選定する提案"), coerce=str, validate_choice=True,
                              validators=[DataRequired(message=_l("選定する提案を選んでください。"))])
    reason = TextAreaField(_l("選定の理由"), validators=[DataRequired(message=_l("選定の理由を入力してください。")),
                                                      Length(max=5_000)],
                           description=_l("評価の結果と、この提案を選んだ理由。選定理由書・随意契約理由書の下書きに載ります。確定後は変更できません。"))
