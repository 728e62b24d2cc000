"""The challenge form: every field of docs/fields.md as structured language."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from matchmaker.i18n import fiscal_year_of, format_fiscal_year
from matchmaker.services.clarity import FIELD_LABELS
from models.codes import COLLABORATION_FORMS, DOMAINS

SDG_GOALS: dict[int, Any] = {
    1: _l("貧困をなくそう"),
    2: _l("飢餓をゼロに"),
    3: _l("すべての人に健康と福祉を"),
    4: _l("質の高い教育をみんなに"),
    5: _l("ジェンダー平等を実現しよう"),
    6: _l("安全な水とトイレを世界中に"),
    7: _l("エネルギーをみんなに そしてクリーンに"),
    8: _l("働きがいも経済成長も"),
    9: _l("産業と技術革新の基盤をつくろう"),
    10: _l("人や国の不平等をなくそう"),
    11: _l("住み続けられるまちづくりを"),
    12: _l("つくる責任 つかう責任"),
    13: _l("気候変動に具体的な対策を"),
    14: _l("海の豊かさを守ろう"),
    15: _l("陸の豊かさも守ろう"),
    16: _l("平和と公正をすべての人に"),
    17: _l("パートナーシップで目標を達成しよう"),
}

_UNITS = {"億": 100_000_000, "万": 10_000, "千": 1_000}


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (rendered by the render_field macro as a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        known = {self.coerce(choice.value) for choice in self.choices or ()}
        if any(value not in known for value in self.data or ()):
            raise ValidationError(_l("選択肢にない値が含まれています。"))


def parse_yen(raw: str) -> int:
    """'3,000,000', '300万', '300万円', '1.5億' → whole yen. Raises ValueError on anything else."""
    text = unicodedata.normalize("NFKC", raw).replace(",", "").replace("円", "").replace(" ", "")
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(億|万|千)?", text)
    if not match:
        raise ValueError(raw)
    amount = float(match.group(1)) * _UNITS.get(match.group(2) or "", 1)
    if match.group(2) is None and "." in match.group(1):
        raise ValueError(raw)
    return round(amount)


class YenField(IntegerField):
    """Whole yen, also accepting 万/億 and thousands separators."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = parse_yen(valuelist[0])
        except ValueError:
            self.data = None
            self.raw_data = valuelist
            raise ValueError(_l("金額は数字で入力してください（例：3000000、300万）。")) from None


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
    if isinstance(current, int):
        years.add(current)
    return [SelectChoice("", "—")] + [SelectChoice(year, format_fiscal_year(year))  # type: ignore[arg-type]
                                      for year in sorted(years)]


class MoveForm(FlaskForm):
    to = HiddenField(validators=[DataRequired()])
    reason = TextAreaField(_l("理由・メモ"), validators=[Optional(), Length(max=2_000)])


class ReviewCommentForm(FlaskForm):
    comment = TextAreaField(_l("確認コメント"), validators=[Optional(), Length(max=5_000)],
                            description=_l("自治体の担当者に表示されます。どこをどう直すとよいかを具体的に。"))
