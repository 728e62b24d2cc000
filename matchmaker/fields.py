"""Form fields shared by the challenge, profile and pipeline forms."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import Field, SelectMultipleField
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

_UNITS = {"兆": 10**12, "億": 100_000_000, "万": 10_000, "千": 1_000}
MAX_YEN = 10**12  # 1兆円: more than any municipal budget line, well inside a 64-bit column
MAX_MEASURE = 1e15  # a KPI value: finite, and within what a person types


def parse_yen(raw: str) -> int:
    """'3,000,000', '３００万', '300万円', '1.5億' → whole yen; ValueError on anything else."""
    text = unicodedata.normalize("NFKC", raw).replace(",", "").replace("円", "").replace(" ", "")
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(兆|億|万|千)?", text)
    if not match:
        raise ValueError(raw)
    amount = float(match.group(1)) * _UNITS.get(match.group(2) or "", 1)
    if amount != round(amount):
        raise ValueError(raw)
    return round(amount)


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as checkboxes (the render_field macro lays them out)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        known = {self.coerce(choice.value) for choice in self.choices or ()}
        if any(value not in known for value in self.data or ()):
            raise ValidationError(_l("選択肢にない値が含まれています。"))


class WholeNumberField(Field):
    """An optional whole number that forgives commas, full-width digits and 万/億, within a range.

    A text input, not ``type=number``: browsers drop 「300万」 from number inputs.
    """

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
            self.data = parse_yen(str(valuelist[0]))
        except ValueError as error:
            raise ValueError(self.message) from error

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation()
        if self.data is not None and (
            self.data < self.minimum or (self.maximum is not None and self.data > self.maximum)
        ):
            raise StopValidation(self.range_message)


class YenField(WholeNumberField):
    """Whole yen: 3000000, 3,000,000, 300万 and 1.5億 all work."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("message", _l("金額は数字で入力してください（例：3000000、300万）。"))
        kwargs.setdefault("maximum", MAX_YEN)
        kwargs.setdefault("range_message", _l("金額は0円から1兆円までの範囲で入力してください。"))
        super().__init__(label, validators, **kwargs)


def finite_measure(form: Any, field: Field) -> None:
    """A measured value (KPI baseline, target, actual): 'NaN', 'inf' and 1e309 are not numbers anyone meant."""
    if field.data is not None and not (math.isfinite(field.data) and abs(field.data) <= MAX_MEASURE):
        raise ValidationError(_l("数値を正しく入力してください。"))
