"""Forms of the co-creation pipeline: acting on a recommendation, proposals, Q&A, sounding, pilot,
adoption and close."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    DateField,
    FieldList,
    FloatField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from matchmaker.args import MAX_ID
from matchmaker.fields import YenField, finite_measure
from matchmaker.municipality.forms import fiscal_year_choices
from models.match import CLOSE_REASONS, NEGOTIATED_GROUNDS, PROCUREMENT_ROUTES
from models.pilot import VERDICTS
from models.procurement import CONTRACT_KINDS

LONG = 10_000
KPI_ROWS = 4


def _required(message: Any) -> DataRequired:
    return DataRequired(message=message)


def _choices(table: dict[str, Any]) -> list[SelectChoice]:
    return [SelectChoice(code, label) for code, label in table.items()]


class ActForm(FlaskForm):
    """The buttons 「この課題に関心あり」/「この企業に声をかける」 on a recommendation."""

    challenge_id = IntegerField(validators=[InputRequired(), NumberRange(min=1, max=MAX_ID)])
    solution_id = IntegerField(validators=[InputRequired(), NumberRange(min=1, max=MAX_ID)])
    rank = HiddenField()
    score = HiddenField()
    direction = HiddenField()
    features = HiddenField()  # the ranker's feature values as JSON, when the card carries them


class CloseForm(FlaskForm):
    reason = SelectField(_l("終了の理由"), choices=_choices(CLOSE_REASONS),
                         validators=[_required(_l("終了の理由を選んでください。"))])
    note = TextAreaField(_l("詳しい理由"), validators=[Optional(), Length(max=2_000)],
                         description=_l("後任の担当者や他の自治体が読んで分かるように書いてください。"))


class AdoptForm(FlaskForm):
    fiscal_year = SelectField(_l("予算年度"), coerce=int, validators=[_required(_l("年度を選んでください。"))])
    procurement_route = RadioField(_l("調達方法"), choices=_choices(PROCUREMENT_ROUTES),
                                   validators=[_required(_l("調達方法を選んでください。"))])
    negotiated_ground = SelectField(
        _l("随意契約の根拠"), choices=[SelectChoice("", _l("（随意契約の場合に選ぶ）")), *_choices(NEGOTIATED_GROUNDS)],
        validators=[Optional()], description=_l("地方自治法施行令第167条の2第1項の号。"))
    contract_kind = SelectField(_l("契約の種類"), choices=_choices(CONTRACT_KINDS), default="other",
                                validators=[_required(_l("契約の種類を選んでください。"))],
                                description=_l("地方自治法施行令別表第五の区分。業務委託は「前各号以外」です。"))
    amount = YenField(_l("契約金額（円）"), validators=[InputRequired(message=_l("金額を入力してください。"))],
                      description=_l("円単位。「300万」のようにも入力できます。"))
    adopted_on = DateField(_l("導入決定日"), validators=[Optional()])
    note = TextAreaField(_l("メモ"), validators=[Optional(), Length(max=2_000)])

    def __init__(self, *args: Any, today: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fiscal_year.choices = [c for c in fiscal_year_choices(today, None) if c.value != ""]


class ProposalForm(FlaskForm):
    solution_id = SelectField(_l("提案するソリューション"), coerce=int,
                              validators=[_required(_l("ソリューションを選んでください。"))])
    title = StringField(_l("提案名"), validators=[_required(_l("提案名を入力してください。")), Length(max=200)])
    approach = TextAreaField(_l("提案内容・アプローチ"),
                             validators=[_required(_l("提案内容を入力してください。")), Length(max=LONG)],
                             description=_l("課題のどこに、どう取り組むか。期待される効果も。"))
    schedule = TextAreaField(_l("スケジュール"),
                             validators=[_required(_l("スケジュールを入力してください。")), Length(max=LONG)],
                             description=_l("例：4月 準備、5〜8月 実証、9月 効果検証"))
    cost_estimate = YenField(_l("概算費用（円）"), validators=[InputRequired(message=_l("概算費用を入力してください。"))],
                             description=_l("円単位。無償の場合は0。「300万」のようにも入力できます。"))
    needs_from_municipality = TextAreaField(_l("自治体に求める協力"), validators=[Optional(), Length(max=LONG)],
                                            description=_l("実証フィールド、データ、職員の関与など。"))
    attachments = MultipleFileField(_l("添付資料"),
                                    description=_l("PDF、Word、Excel、PowerPoint、画像（PNG・JPEG・GIF・WebP）、ZIP（1ファイル10MBまで、5ファイルまで）"))

    def validate_cost_estimate(self, field: YenField) -> None:
        if field.data is not None and field.data < 0:
            raise ValidationError(_l("金額は0円以上で入力してください。"))


class DecisionForm(FlaskForm):
    reason = TextAreaField(_l("理由"), validators=[Optional(), Length(max=2_000)])


class QuestionForm(FlaskForm):
    body = TextAreaField(_l("質問"), validators=[_required(_l("質問を入力してください。")), Length(max=4_000)],
                         description=_l("回答は質問者の名前を伏せて、課題のページで全員に公開されます。"))


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("回答"), validators=[_required(_l("回答を入力してください。")), Length(max=8_000)],
                           description=_l("回答は質問とともに公開され、関心のある企業に通知されます。"))


class SoundingForm(FlaskForm):
    title = StringField(_l("サウンディングの名称"),
                        validators=[_required(_l("名称を入力してください。")), Length(max=200)])
    description = TextAreaField(_l("対話のテーマ・方法"), validators=[Optional(), Length(max=LONG)])
    starts_on = DateField(_l("対話期間（開始）"), validators=[InputRequired(message=_l("日付を入力してください。"))])
    ends_on = DateField(_l("対話期間（終了）"), validators=[InputRequired(message=_l("日付を入力してください。"))])
    entry_deadline = DateField(_l("エントリー締切"),
                               validators=[InputRequired(message=_l("日付を入力してください。"))])

    def validate_ends_on(self, field: DateField) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("終了日は開始日以降にしてください。"))

    def validate_entry_deadline(self, field: DateField) -> None:
        if field.data and self.ends_on.data and field.data > self.ends_on.data:
            raise ValidationError(_l("エントリー締切は対話期間の終了日以前にしてください。"))


class SlotForm(FlaskForm):
    day = DateField(_l("日付"), validators=[InputRequired(message=_l("日付を入力してください。"))])
    start = TimeField(_l("開始時刻"), validators=[InputRequired(message=_l("時刻を入力してください。"))])
    end = TimeField(_l("終了時刻"), validators=[InputRequired(message=_l("時刻を入力してください。"))])
    place = StringField(_l("場所"), validators=[Optional(), Length(max=200)], description=_l("例：市役所3階会議室、オンライン"))
    capacity = IntegerField(_l("定員（社）"), default=1, validators=[InputRequired(), NumberRange(min=1, max=20)])

    def validate_end(self, field: TimeField) -> None:
        if field.data and self.start.data and field.data <= self.start.data:
            raise ValidationError(_l("終了時刻は開始時刻より後にしてください。"))


class BookingForm(FlaskForm):
    slot_id = RadioField(_l("希望する枠"), coerce=int, validators=[InputRequired(message=_l("枠を選んでください。"))])
    solution_id = SelectField(_l("対話で紹介するソリューション"), coerce=int,
                              validators=[_required(_l("ソリューションを選んでください。"))])


class NoteForm(FlaskForm):
    body = TextAreaField(_l("記録"), validators=[_required(_l("内容を入力してください。")), Length(max=LONG)],
                         description=_l("この対話の記録は、この企業・自治体・コーディネーターだけが読めます。"))


class ResultsForm(FlaskForm):
    summary = TextAreaField(_l("実施結果概要"), validators=[_required(_l("概要を入力してください。")), Length(max=LONG)],
                            description=_l("公開されます。個別の企業名やアイデアが特定されないようにまとめてください。"))


class KpiForm(Form):
    name = StringField(_l("指標"), validators=[Optional(), Length(max=200)])
    unit = StringField(_l("単位"), validators=[Optional(), Length(max=40)])
    baseline = FloatField(_l("現状値"), validators=[Optional(), finite_measure])
    target = FloatField(_l("目標値"), validators=[Optional(), finite_measure])


class PilotForm(FlaskForm):
    summary = TextAreaField(_l("実証の内容"), validators=[_required(_l("実証の内容を入力してください。")),
                                                       Length(max=LONG)])
    starts_on = DateField(_l("開始日"), validators=[InputRequired(message=_l("開始日を入力してください。"))])
    ends_on = DateField(_l("終了日"), validators=[InputRequired(message=_l("終了日を入力してください。"))])
    responsibilities = TextAreaField(_l("役割分担"), validators=[Optional(), Length(max=LONG)])
    cost_sharing = TextAreaField(_l("費用負担"), validators=[Optional(), Length(max=LONG)])
    kpis = FieldList(FormField(KpiForm), min_entries=KPI_ROWS, max_entries=12)

    def validate_ends_on(self, field: DateField) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("終了日は開始日以降にしてください。"))

    def validate_kpis(self, field: FieldList) -> None:
        for row in field:
            name = (row.form.name.data or "").strip()
            if name and row.form.target.data is None:
                raise ValidationError(_l("指標「%(name)s」の目標値を入力してください。", name=name))

    def kpi_values(self) -> list[dict[str, Any]]:
        return [
            {"name": (row.form.name.data or "").strip(), "unit": (row.form.unit.data or "").strip(),
             "baseline": row.form.baseline.data, "target": row.form.target.data}
            for row in self.kpis if (row.form.name.data or "").strip()
        ]


class UpdateForm(FlaskForm):
    body = TextAreaField(_l("経過報告"), validators=[_required(_l("内容を入力してください。")), Length(max=LONG)])


class BudgetForm(FlaskForm):
    recorded_on = DateField(_l("予算要求を登録した日"),
                            validators=[InputRequired(message=_l("日付を入力してください。"))])
    amount = YenField(_l("要求額（円）"), validators=[Optional()])
    contract_kind = SelectField(_l("導入時の契約の種類"), choices=_choices(CONTRACT_KINDS), default="other",
                                validators=[Optional()],
                                description=_l("地方自治法施行令別表第五の区分。業務委託は「前各号以外」です。"))
    note = TextAreaField(_l("メモ"), validators=[Optional(), Length(max=2_000)],
                         description=_l("例：財政課に新規事業として要求。12月査定予定。"))


class ActualForm(Form):
    kpi_id = HiddenField()
    actual = FloatField(_l("実績値"), validators=[Optional(), finite_measure])


class ReportForm(FlaskForm):
    verdict = RadioField(_l("評価"), choices=_choices(VERDICTS), validators=[_required(_l("評価を選んでください。"))])
    summary = TextAreaField(_l("結果の概要"), validators=[_required(_l("結果の概要を入力してください。")),
                                                     Length(max=LONG)],
                            description=_l("公開の事例集に載ります。分かったこと、次に活かすことも。"))
    actuals = FieldList(FormField(ActualForm))
