"""The solution profile form."""

from __future__ import annotations

import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from matchmaker.services.solutions import SOLUTION_FIELD_LABELS as L
from matchmaker.services.solutions import SolutionInput
from models.codes import COLLABORATION_FORMS, DOMAINS, MATURITY, PREFECTURES


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as checkboxes (render_field lays them out)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        valid = {str(choice.value) for choice in self.choices or ()}
        for value in self.data or ():
            if value not in valid:
                raise ValidationError(_l("選択肢にない値が含まれています。"))


def parse_whole_number(raw: str) -> int:
    """Read ``1,200,000``, ``１２０００００`` or ``120万`` as whole yen (or weeks)."""
    text = unicodedata.normalize("NFKC", raw).strip().replace(",", "").replace(" ", "")
    text = text.removesuffix("円")
    multiplier = 1
    if text.endswith("万"):
        text, multiplier = text[:-1], 10_000
    if not text:
        raise ValueError(raw)
    try:
        value = Decimal(text) * multiplier
    except InvalidOperation as error:
        raise ValueError(raw) from error
    if not value.is_finite() or value != value.to_integral_value():
        raise ValueError(raw)
    return int(value)


class WholeNumberField(Field):
    """An optional whole number that forgives commas, full-width digits and 万, with a range."""

    widget = TextInput()

    def __init__(self, label: Any = None, validators: Any = None, *, message: Any = None,
                 minimum: int = 0, maximum: int | None = None, range_message: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(label, validators, **kwargs)
        self.message = message or _l("半角数字で入力してください。")
        self.minimum, self.maximum = minimum, maximum
        self.range_message = range_message or self.message

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else str(self.data)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if not valuelist or not str(valuelist[0]).strip():
            return
        try:
            self.data = parse_whole_number(str(valuelist[0]))
        except ValueError as error:
            raise ValueError(self.message) from error

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation()
        if self.data is not None and (
            self.data < self.minimum or (self.maximum is not None and self.data > self.maximum)
        ):
            raise StopValidation(self.range_message)


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
    regions = MultiCheckboxField(L["regions"], choices=[SelectChoice(p) for p in PREFECTURES],
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
