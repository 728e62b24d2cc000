from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, NumberRange, Optional, Regexp

from models.codes import COMPANY_SIZES, PREFECTURE_LABELS, PREFECTURES

PASSWORD_HELP = _l("12文字以上。記号や数字を混ぜる必要はありません。覚えやすい単語をいくつか並べた文（パスフレーズ）がおすすめです。")


class LoginForm(FlaskForm):
    email = EmailField(_l("メールアドレス"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("パスワード"), validators=[DataRequired()])
    remember = BooleanField(_l("ログイン状態を保持する"))


class RegisterForm(FlaskForm):
    kind = RadioField(
        _l("所属の種類"),
        choices=[SelectChoice("municipality", _l("自治体")), SelectChoice("company", _l("企業・団体"))],
        default="municipality",
        validators=[DataRequired()],
    )
    organisation_name = StringField(_l("所属組織名"), validators=[DataRequired(), Length(max=200)],
                                    description=_l("例：神戸市、株式会社〇〇"))
    prefecture = SelectField(_l("都道府県"), choices=[SelectChoice("", "—")] + [SelectChoice(p, PREFECTURE_LABELS[p])
                                                                            for p in PREFECTURES],
                             validators=[DataRequired()])
    lg_code = StringField(
        _l("全国地方公共団体コード"),
        validators=[Optional(), Regexp(r"^\d{6}$", message=_l("6桁の数字で入力してください。"))],
        description=_l("自治体の場合は必須です（検査数字を含む6桁、例：神戸市 281000）。"),
    )
    population = IntegerField(_l("人口"), validators=[Optional(), NumberRange(
        min=0, max=50_000_000, message=_l("人口は0から5,000万までの数字で入力してください。"))])
    size = SelectField(_l("企業規模"), choices=[SelectChoice("", "—")] + [SelectChoice(code, label)
                                                                      for code, label in COMPANY_SIZES.items()],
                       validators=[Optional()])
    corporate_number = StringField(
        _l("法人番号"),
        validators=[Optional(), Regexp(r"^\d{13}$", message=_l("13桁の数字で入力してください。"))],
    )
    department = StringField(_l("部署名"), validators=[Optional(), Length(max=100)])
    name = StringField(_l("氏名"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(_l("メールアドレス"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("パスワード"), validators=[DataRequired()], description=PASSWORD_HELP)
    password_again = PasswordField(
        _l("パスワード（確認）"),
        validators=[DataRequired(), EqualTo("password", message=_l("パスワードが一致しません。"))],
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("現在のパスワード"), validators=[DataRequired()])
    new_password = PasswordField(_l("新しいパスワード"), validators=[DataRequired()], description=PASSWORD_HELP)
    new_password_again = PasswordField(
        _l("新しいパスワード（確認）"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("パスワードが一致しません。"))],
    )


class TwoFactorCodeForm(FlaskForm):
    code = StringField(_l("確認コード"), validators=[DataRequired(), Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
                       description=_l("認証アプリに表示される6桁の数字。アプリが使えないときは回復コードを入力できます。"))


class HandoverForm(FlaskForm):
    """人事異動: the leaving staff member and the successor (choices: the municipality's staff)."""

    leaver = SelectField(_l("異動する職員（前任者）"), coerce=int, validators=[DataRequired()])
    successor = SelectField(_l("後任者"), coerce=int, validators=[DataRequired()])
    reason = StringField(_l("理由・メモ"), validators=[Optional(), Length(max=500)],
                         description=_l("例：令和8年4月1日付 人事異動"))
