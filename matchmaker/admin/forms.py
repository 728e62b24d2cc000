"""Administration forms: staff accounts, roles, organisations."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from matchmaker.fields import WholeNumberField
from matchmaker.services.admin import OrganisationInput
from models.codes import COMPANY_SIZES, PREFECTURE_LABELS, PREFECTURES, ROLE_LABELS


class StaffAccountForm(FlaskForm):
    role = RadioField(_l("役割"), choices=[SelectChoice("coordinator", ROLE_LABELS["coordinator"]),
                                          SelectChoice("admin", ROLE_LABELS["admin"])],
                      default="coordinator", validators=[DataRequired(message=_l("役割を選んでください。"))])
    name = StringField(_l("氏名"), validators=[DataRequired(message=_l("氏名を入力してください。")),
                                             Length(max=100, message=_l("100文字以内で入力してください。"))])
    department = StringField(_l("所属・部署"), validators=[Optional(), Length(max=100)],
                             description=_l("例：○○県 公民連携デスク、○○経済産業局"))
    email = EmailField(_l("メールアドレス"), validators=[
        DataRequired(message=_l("メールアドレスを入力してください。")),
        Email(message=_l("メールアドレスの形式が正しくありません。")), Length(max=254)])
    password = PasswordField(_l("初期パスワード"), validators=[
        DataRequired(message=_l("初期パスワードを入力してください。"))],
        description=_l("本人に安全な方法で伝え、初回ログイン後に変更してもらってください。"))
    password_again = PasswordField(_l("初期パスワード（確認）"), validators=[
        DataRequired(message=_l("確認のためもう一度入力してください。")),
        EqualTo("password", message=_l("パスワードが一致しません。"))])


class RoleForm(FlaskForm):
    role = SelectField(_l("役割"), validators=[DataRequired(message=_l("役割を選んでください。"))])
    reason = TextAreaField(_l("変更の理由"), validators=[Optional(), Length(max=1000)],
                           description=_l("監査記録に残ります。"))


class ReasonForm(FlaskForm):
    reason = StringField(_l("理由"), validators=[Optional(), Length(max=1000)])


class EraseForm(FlaskForm):
    confirm_email = EmailField(_l("確認のため、この利用者のメールアドレス"), validators=[
        DataRequired(message=_l("確認のため、この利用者のメールアドレスを入力してください。")), Length(max=254)])


class OrganisationForm(FlaskForm):
    name = StringField(_l("組織名"), validators=[DataRequired(message=_l("組織名を入力してください。")),
                                              Length(max=200, message=_l("200文字以内で入力してください。"))])
    prefecture = SelectField(_l("都道府県"), choices=[SelectChoice("", "—")] + [SelectChoice(p, PREFECTURE_LABELS[p]) for p in PREFECTURES],
                             validators=[DataRequired(message=_l("都道府県を選んでください。"))])
    lg_code = StringField(
        _l("全国地方公共団体コード"),
        validators=[Optional(), Regexp(r"^\d{6}$", message=_l("6桁の数字で入力してください。"))],
        description=_l("検査数字を含む6桁（例：神戸市 281000）。自治体のみ。"))
    population = WholeNumberField(_l("人口"), message=_l("人口は数字で入力してください。"),
                                  range_message=_l("人口は0以上で入力してください。"),
                                  description=_l("自治体のみ。"))
    size = SelectField(_l("企業規模"), choices=[SelectChoice("", "—")] + [SelectChoice(c, label) for c, label in COMPANY_SIZES.items()], validators=[Optional()])
    corporate_number = StringField(
        _l("法人番号"),
        validators=[Optional(), Regexp(r"^\d{13}$", message=_l("13桁の数字で入力してください。"))])

    def to_input(self) -> OrganisationInput:
        return OrganisationInput(
            name=self.name.data or "", prefecture=self.prefecture.data or "",
            lg_code=self.lg_code.data or None, population=self.population.data,
            size=self.size.data or None, corporate_number=self.corporate_number.data or None,
        )
