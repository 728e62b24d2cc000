"""The demo's living pipeline: twenty matches at every stage, written through the real services.

Called last by ``matchmaker.demo.loader.load`` (inside its transaction: flush and audit, no commit).
Every step goes through ``matchmaker.services`` (interest, invitations, Q&A, proposals and decisions,
soundings with slots, bookings and dialogue notes, pilot plans with KPIs, progress updates, budget
requests, results reports, adoption and close), as the people who would take it: the demo accounts
(旭川市 for the municipal account, 株式会社レイメイ情報基盤 for the company account, the coordinator)
and one staff member per other organisation, created without a usable password (they cannot log in).

Time. The services stamp "now"; each step runs inside ``Scene.on(days, hour)``, which moves the
timestamps that step writes (match events, audit rows, notifications, submission and note times…)
to that moment, relative to the demo's today, before the rows are inserted. The rules compare some
dates with the real today (a challenge's deadline, a sounding's entry deadline), so a story set in the
past first runs with dates the rules accept today and is then back-dated, in the demo only:
``Scene.published_before`` (a challenge's publication, two weeks before its story's first step),
``_settle_challenge`` (a challenge closed after its selection: publication, deadline and fiscal year
moved into the past) and ``_move_sounding`` (a finished sounding's dates). Three stories stay idle
for longer than ``STALLED_AFTER_DAYS`` so the coordinators' board shows stalled items.

The pipeline runs only on a site without any match (a second ``flask demo load`` adds nothing) and
only when the demo's today is not before the real one (the loader's default). It is deterministic:
every date follows from the demo's today. It embeds nothing and stores no ranking features (they
would train the learned reranker on invented labels).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import current_app, has_request_context
from sqlalchemy import event, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from matchmaker.demo.accounts import EMAIL_DOMAIN
from matchmaker.demo.loader import DemoData
from matchmaker.i18n import JST, fiscal_year_of
from matchmaker.records.disclosures import dialogue_fields
from matchmaker.services import (
    audit,
    evaluation,
    fiscal,
    handover,
    pilots,
    proposals,
    qa,
    sounding,
    third_party,
)
from matchmaker.services import challenges as challenge_service
from matchmaker.services import matches as match_service
from matchmaker.services.challenges import local_today
from models import (
    AuditEvent,
    Challenge,
    Match,
    Organisation,
    Proposal,
    Solution,
    Sounding,
    User,
    db,
)
from models.base import UTCDateTime

AUDIT_SOURCE = "demo"  # as the loader marks the demo accounts
NO_LOGIN = "!demo-staff-without-login"  # not an argon2 hash: check_password is always False

# Staff of the other organisations in the stories: mailbox (…@staff.demo.matchmaker.jp),
# organisation, role, name, department.
STAFF: tuple[tuple[str, str, str, str, str], ...] = (
    ("sapporo", "札幌市", "municipal", "伊藤 真理子", "保健福祉局 高齢保健福祉部 介護予防推進課"),
    ("aizuwakamatsu", "会津若松市", "municipal", "渡辺 翔太", "企画政策部 デジタル変革推進課"),
    ("sendai", "仙台市", "municipal", "佐々木 彩", "危機管理局 減災推進課"),
    ("yokohama-hoiku", "横浜市", "municipal", "加藤 拓也", "こども青少年局 保育・教育運営課"),
    ("yokohama-gesuido", "横浜市", "municipal", "吉田 健二", "下水道河川局 管路保全課"),
    ("yokohama-gesuido-2", "横浜市", "municipal", "中村 恵子", "下水道河川局 管路保全課"),
    ("kyotango", "京丹後市", "municipal", "井上 誠", "医療部 医療政策課"),
    ("kobe", "神戸市", "municipal", "清水 由美", "建築住宅局 住宅政策課 空き家対策担当"),
    ("kobe-2", "神戸市", "municipal", "岡本 翔", "建築住宅局 住宅政策課 空き家対策担当"),
    ("toyooka", "豊岡市", "municipal", "山口 浩", "環境経済部 環境政策課"),
    ("kochi", "高知市", "municipal", "山本 恵", "防災対策部 地域防災推進課"),
    ("kochi-2", "高知市", "municipal", "西村 亜紀", "防災対策部 地域防災推進課"),
    ("fukuoka", "福岡市", "municipal", "林 大輝", "消防局 救急課"),
    ("kitakyushu", "北九州市", "municipal", "木村 直子", "保健福祉局 長寿社会対策課"),
    ("naha", "那覇市", "municipal", "比嘉 さくら", "都市みらい部 交通政策課"),
    ("yukimichi", "株式会社ゆきみちテック", "company", "斎藤 亮", "自治体営業部"),
    ("michinome", "株式会社みちのめ", "company", "森 美穂", "事業開発部"),
    ("yukiakari", "株式会社ゆきあかりヘルスラボ", "company", "池田 沙織", "自治体連携室"),
    ("fukushi-bosai", "一般社団法人ふくし防災ラボ", "company", "橋本 陽子", "事務局"),
    ("argo", "株式会社アルゴ保育研究所", "company", "石川 修", "公共ソリューション部"),
    ("shinsei", "シンセイ・ガバメントクラウド株式会社", "company", "前田 隆", "公共営業本部"),
    ("sonaeru", "株式会社そなえる窓口", "company", "藤田 茜", "営業部"),
    ("komorebi", "株式会社こもれびキッズテック", "company", "岡田 優子", "自治体事業部"),
    ("hagukumi", "株式会社はぐくみプッシュ", "company", "後藤 駿", "事業開発部"),
    ("tokiwa", "トキワ電機システムズ株式会社", "company", "長谷川 聡", "社会インフラ事業部"),
    ("kanrobo", "株式会社カンロボ", "company", "村上 亮介", "営業部"),
    ("hospitalwheel", "株式会社ホスピタルウィール", "company", "近藤 麻衣", "地域医療事業部"),
    ("carerhythm", "株式会社ケアリズム", "company", "遠藤 純", "カスタマーサクセス部"),
    ("triagelab", "株式会社トリアージラボ", "company", "青木 健太郎", "公共事業部"),
    ("minase", "ミナセ建設コンサルタンツ株式会社", "company", "坂本 和也", "都市整備部"),
    ("tabekiri", "株式会社たべきり研究所", "company", "松本 千尋", "営業企画部"),
    ("slowride", "株式会社スローライド", "company", "原田 翼", "地域モビリティ事業部"),
)
STAFF_SINCE = -800  # days before today: the staff accounts predate every story


# --- challenges and solution profiles of the stories (titles in the demo .jsonl files) ----------

ASAHIKAWA_SNOW = "除雪オペレーターが減る中で、生活道路の除雪を計画どおり回したい"
ASAHIKAWA_APP = "子育て支援アプリを開発したい"
SAPPORO_FRAILTY = "冬期の外出控えによる高齢者のフレイル進行を食い止めたい"
AIZU_ONLINE = "高齢者がオンライン申請を実際に「使える」よう、身近な支援体制をつくりたい"
SENDAI_SHELTER = "避難所の受付と避難者数の把握を、紙の名簿から切り替えたい"
YOKOHAMA_NURSERY = "保育所等の利用調整（入所選考）にかかる事務負担を大幅に減らしたい"
YOKOHAMA_SEWER = "老朽化する下水道管の点検を、限られた人員でも計画的に進めたい"
KYOTANGO_CLINIC = "医師不足の地域で、通院が難しい患者に診療を届ける方法を確立したい"
KOBE_VACANT = "所有者の分からない老朽空き家を、早い段階で把握し解消につなげたい"
TOYOOKA_FOODLOSS = "温泉旅館の食べ残しを減らし、処理費用とCO2を削減したい"
KOCHI_EVACUATION = "南海トラフ地震に備え、避難に支援が必要な方の個別避難計画づくりを加速したい"
FUKUOKA_AMBULANCE = "救急車を本当に必要な人に早く届けるため、受診の迷いを減らしたい"
KITAKYUSHU_CARE = "介護施設の人手不足の中で、職員の負担を減らしケアの質を保ちたい"
NAHA_COMMUTE = "朝夕の慢性的な渋滞を、通勤の仕方の見直しで和らげたい"

REIMEI_COUNTER = "レイメイ窓口ナビ（申請書作成支援・ワンストップ窓口）"
REIMEI_SHELTER = "レイメイ避難者管理クラウド"
REIMEI_PLANS = "個別避難計画作成支援システム"
SNOW_FLEET = "除雪車両の運行管理と除雪状況の見える化"
ROAD_AI = "ドライブレコーダー映像による路面損傷のAI検出"
TV_EXERCISE = "テレビでつながる冬のおうち体操「ゆきあかり体操便」"
CARE_PLANNING = "福祉専門職と地域をつなぐ個別避難計画づくりの伴走"
AI_NURSERY = "AI保育入所マッチング"
NURSERY_OPTIMISER = "保育所利用調整（入所選考）最適化システム"
QR_SHELTER = "QRコード避難所受付アプリ"
PARENTING_APP = "自治体向け子育て応援アプリ（母子手帳連携）"
PUSH_NOTICES = "世帯ごとに届くプッシュ型子育て支援通知"
SEWER_AI = "下水道管路AI劣化判定サービス"
SEWER_ROBOT = "自走式管内調査ロボットによる高速スクリーニング"
CLINIC_CAR = "看護師が乗って訪れるオンライン診療車（医療MaaS）"
CARE_VOICE = "介護記録の音声入力・自動要約「ケアリズムボイス」"
TRIAGE_GUIDE = "救急受診ガイドアプリ・ウェブ"
VACANCY_SURVEY = "空き家実態調査・所有者調査支援サービス"
FOODLOSS_METER = "厨房向け食べ残し計量・分析サービス"
SLOW_MOBILITY = "グリーンスローモビリティ（低速電動カート）の導入・運行支援"


# --- the scene: who acts, and when -------------------------------------------------------------


def _restamp(obj: Any, moment: datetime, since: datetime, until: datetime, *, new: bool) -> None:
    """Move the timestamps a service wrote "now" (between ``since`` and ``until``) to ``moment``;
    columns left to their default (new rows) or to ``onupdate`` (changed rows) get it too."""
    for attr in sa_inspect(obj).mapper.column_attrs:
        column = attr.columns[0]
        if not isinstance(column.type, UTCDateTime):
            continue
        value = getattr(obj, attr.key)
        if not new and column.onupdate is not None:
            setattr(obj, attr.key, moment)
            flag_modified(obj, attr.key)  # also when unchanged, or the UPDATE would stamp "now"
        elif value is None:
            if new and column.default is not None:
                setattr(obj, attr.key, moment)
        elif since <= value <= until:
            setattr(obj, attr.key, moment)
    if new and isinstance(obj, AuditEvent):
        obj.details = {**(obj.details or {}), "source": AUDIT_SOURCE}


@dataclass
class Scene:
    demo: DemoData
    stall: int  # STALLED_AFTER_DAYS
    since: datetime  # when the pipeline started: later stamps were written "now" by the services
    staff: dict[str, User] = field(default_factory=dict)  # mailbox → user

    @property
    def today(self) -> date:
        return self.demo.today

    def day(self, offset: int) -> date:
        return self.today + timedelta(days=offset)

    def moment(self, offset: int, hour: int = 10, minute: int = 0) -> datetime:
        return datetime.combine(self.day(offset), time(hour, minute), JST).astimezone(UTC)

    @contextmanager
    def on(self, offset: int, hour: int = 10, minute: int = 0) -> Iterator[datetime]:
        """Run a step as if it happened ``offset`` days from today at ``hour``:``minute`` (Japan time)."""
        moment = self.moment(offset, hour, minute)
        session = db.session()

        def before_flush(flushing: Session, _context: Any, _instances: Any) -> None:
            until = datetime.now(UTC) + timedelta(seconds=1)
            for obj in list(flushing.new):
                _restamp(obj, moment, self.since, until, new=True)
            for obj in list(flushing.dirty):
                if flushing.is_modified(obj, include_collections=False):
                    _restamp(obj, moment, self.since, until, new=False)

        event.listen(session, "before_flush", before_flush)
        try:
            yield moment
            session.flush()
        finally:
            event.remove(session, "before_flush", before_flush)

    # --- the cast ---
    @property
    def municipal(self) -> User:
        return self.demo.accounts["municipal"]

    @property
    def company(self) -> User:
        return self.demo.accounts["company"]

    @property
    def coordinator(self) -> User:
        return self.demo.accounts["coordinator"]

    def member(self, mailbox: str) -> User:
        return self.staff[mailbox]

    # --- the props ---
    def challenge(self, title: str) -> Challenge:
        found = db.session.scalar(select(Challenge).where(Challenge.title == title).order_by(Challenge.id))
        if found is None:
            raise LookupError(f"demo challenge {title!r} was not loaded")
        return found

    def solution(self, title: str) -> Solution:
        found = db.session.scalar(select(Solution).where(Solution.title == title).order_by(Solution.id))
        if found is None:
            raise LookupError(f"demo solution profile {title!r} was not loaded")
        return found

    def published_before(self, challenge: Challenge, offset: int) -> None:
        """Back-date the publication to two weeks before the first step of a story (demo only)."""
        if challenge.published_at is None or challenge.published_at > self.moment(offset - 14, 10):
            with self.on(offset - 14, 10) as moment:
                _back_date(challenge, moment)


def _back_date(challenge: Challenge, published_at: datetime) -> None:
    """Publication (and the draft before it) back-dated; run inside ``Scene.on`` (updated_at follows)."""
    challenge.published_at = published_at
    challenge.created_at = min(challenge.created_at, published_at - timedelta(days=10))


def create_staff(scene: Scene) -> None:
    """One account per staff member of ``STAFF`` (kept as it is when the address exists)."""
    with scene.on(STAFF_SINCE, 9):
        for mailbox, organisation_name, role, name, department in STAFF:
            email = f"{mailbox}@staff.{EMAIL_DOMAIN}"
            user = db.session.scalar(select(User).where(User.email == email))
            if user is None:
                organisation = db.session.scalar(select(Organisation).where(Organisation.name == organisation_name))
                if organisation is None:
                    raise LookupError(f"demo organisation {organisation_name!r} was not loaded")
                user = User(email=email, name=name, role=role, organisation=organisation, department=department,
                            password_hash=NO_LOGIN)
                db.session.add(user)
                db.session.flush()
                audit.record(None, "user.created", user, to_state=role, source=AUDIT_SOURCE)
            scene.staff[mailbox] = user


# --- steps used by several stories ------------------------------------------------------------


def _kpis(*rows: tuple[str, str, float | None, float]) -> list[dict[str, Any]]:
    return [{"name": name, "unit": unit, "baseline": baseline, "target": target}
            for name, unit, baseline, target in rows]


def _propose(scene: Scene, offset: int, hour: int, user: User, challenge: Challenge, solution: Solution,
             values: Mapping[str, Any]) -> Proposal:
    with scene.on(offset, hour):
        return proposals.submit(challenge, solution, user, values)


def _settle_challenge(scene: Scene, challenge: Challenge, owner: User, *, proposed: int, closed: int,
                      fiscal_year: int) -> None:
    """The call is over: the owner closes the challenge (service), and its publication, deadline and
    fiscal year move back to when the story happened (demo only: the rules needed today's dates)."""
    with scene.on(closed, 17) as moment:
        challenge_service.move(challenge, "closed", actor=owner, now=moment)
        _back_date(challenge, scene.moment(proposed - 30, 10))
        challenge.deadline = scene.day(proposed + 10)
        challenge.fiscal_year = fiscal_year


def _move_sounding(found: Sounding, days: int) -> None:
    """Shift a sounding's period, entry deadline and slots by ``days`` (back-dating, demo only)."""
    delta = timedelta(days=days)
    found.starts_on += delta
    found.ends_on += delta
    found.entry_deadline += delta
    for slot in found.slots:
        slot.starts_at += delta
        slot.ends_at += delta


def _request_budget_in_time(scene: Scene, match: Match, owner: User, amount: int, note: str) -> None:
    """予算要求の登録 two weeks before the pilot's request deadline (or just before it ends)."""
    pilot = match.pilot
    assert pilot is not None
    deadline = fiscal.request_deadline(pilot.starts_on, pilot.ends_on,
                                       fiscal.calendar_for(match.challenge.organisation_id))
    requested = min(deadline - timedelta(days=14), pilot.ends_on - timedelta(days=5))
    with scene.on((requested - scene.today).days, 15):
        pilots.record_budget_request(match, owner, requested, amount, note)


def _actuals(match: Match, values: Sequence[float | None]) -> dict[int, float | None]:
    assert match.pilot is not None
    return {kpi.id: value for kpi, value in zip(match.pilot.kpis, values, strict=True)}


# --- recommended: interest expressed, companies invited (one stalled) ---------------------------


def story_interest(scene: Scene) -> None:
    """The demo company flags a challenge; 旭川市 approaches a company; 札幌's lead goes quiet."""
    aizu = scene.challenge(AIZU_ONLINE)
    scene.published_before(aizu, -6)
    with scene.on(-6, 14, 10):
        match_service.express_interest(aizu, scene.solution(REIMEI_COUNTER), scene.company)

    snow = scene.challenge(ASAHIKAWA_SNOW)
    scene.published_before(snow, -24)
    with scene.on(-9, 11):
        match_service.invite_company(snow, scene.solution(ROAD_AI), scene.municipal)

    sapporo = scene.challenge(SAPPORO_FRAILTY)
    quiet = scene.stall + 16  # no step since: the board shows it as stalled
    scene.published_before(sapporo, -quiet)
    with scene.on(-quiet, 15, 30):
        match_service.express_interest(sapporo, scene.solution(TV_EXERCISE), scene.member("yukiakari"))


def story_naha_withdrawal(scene: Scene) -> None:
    """A coordinator's invitation the company turns down: closed, 企業側辞退, with its reason."""
    naha = scene.challenge(NAHA_COMMUTE)
    scene.published_before(naha, -18)
    with scene.on(-18, 13):
        match, _created = match_service.invite_company(naha, scene.solution(SLOW_MOBILITY), scene.coordinator)
    with scene.on(-15, 16, 40):
        match_service.close(match, scene.member("slowride"), "company_withdrew",
                            "当社のグリーンスローモビリティは観光地や住宅団地での短い距離の移動向けで、"
                            "通勤時間帯の幹線道路の渋滞対策には適さないと判断し、辞退いたします。"
                            "お声がけいただきありがとうございました。")


# --- proposals: to review, shortlisted, declined, stalled --------------------------------------


def story_asahikawa_snow(scene: Scene) -> None:
    """A question answered, then a proposal the demo municipal account has to review."""
    snow = scene.challenge(ASAHIKAWA_SNOW)
    scene.published_before(snow, -24)
    vendor = scene.member("yukimichi")
    with scene.on(-24, 10):
        question = qa.ask(snow, vendor, "業者所有の除雪車両に端末を取り付ける場合、取付け・取外しの作業は受託者側で"
                                       "行ってよろしいでしょうか。また、車両ごとに業者の同意書が必要か教えてください。")
    with scene.on(-21, 16):
        qa.answer(question, scene.municipal, "取付け・取外しは受託者側で行っていただいて構いません。各社の同意は市が"
                                             "除雪業者協議会を通じて取りまとめますので、同意書の様式案を提案書に添えて"
                                             "いただけると助かります。")
    _propose(scene, -4, 17, vendor, snow, scene.solution(SNOW_FLEET), {
        "title": "除雪車両の位置・作業状況の見える化と日報自動作成による生活道路除雪の進行管理",
        "approach": "実証2地区の除雪車両約40台にGPS端末（業者所有の車両には取り外しの容易なシガーソケット給電型）を"
                    "取り付け、作業状況（除雪中・移動中・待機）を地図上にリアルタイムで表示します。雪対策課と各地区の"
                    "除雪センターが同じ画面で進捗を確認し、遅れている路線への応援配置を判断できるようにします。"
                    "作業日報は走行記録から自動で作成し、委託料の算定に必要な作業時間と延長を自動で集計します。"
                    "市民向けには「除雪済み／作業中」を色分けした地図を公開し、問い合わせの削減効果を検証します。"
                    "位置情報の公開範囲は、除雪業者協議会との協議の結果に合わせて設定できます。",
        "schedule": "契約後1か月: 車両への端末取付けと業者向け操作説明会（2回）\n"
                    "2か月目: 試験運用、過去5シーズンの出動記録の取込み\n"
                    "降雪期: 本運用と効果測定（問い合わせ件数・日報作成時間）\n"
                    "シーズン終了後1か月: 効果検証報告",
        "cost_estimate": 5_800_000,
        "needs_from_municipality": "除雪業者協議会への説明の場の設定と、端末取付けへの各社の同意の取りまとめ。"
                                   "過去5シーズンの出動記録と苦情記録のデータ提供。",
    })


def story_kochi(scene: Scene) -> None:
    """Two proposals on one challenge: the demo company's is shortlisted, the other still waits."""
    kochi = scene.challenge(KOCHI_EVACUATION)
    scene.published_before(kochi, -30)
    owner = scene.member("kochi")
    with scene.on(-30, 11):
        question = qa.ask(kochi, scene.company, "計画の作成を福祉専門職に委託する場合の委託料（1件あたり）は、今回の"
                                                "提案の費用に含めるべきでしょうか。それとも市が別途負担する想定でしょうか。")
    with scene.on(-27, 15):
        qa.answer(question, owner, "福祉専門職への作成委託料は市が別途予算化する予定です。提案の費用には含めず、"
                                   "システム利用料と研修・伴走の費用をお示しください。")
    reimei = _propose(scene, -20, 15, scene.company, kochi, scene.solution(REIMEI_PLANS), {
        "title": "要支援者の優先度を地図で見える化し、福祉専門職と地区が一緒につくる個別避難計画",
        "approach": "避難行動要支援者名簿と津波浸水想定を地図上で重ね、浸水深・独居の有無・要介護度などから計画作成の"
                    "優先度を自動で算出します。モデル2地区では、ケアマネジャーと民生委員がタブレットで本人宅を訪問"
                    "しながら計画を入力し、避難支援者・避難先・必要な配慮を一画面で確認できるようにします。作成状況は"
                    "地区別に可視化し、更新時期が来た計画は担当者に通知します。紙の計画との併用期間中は、タブレットで"
                    "入力した内容を市の様式で印刷できます。",
        "schedule": "1〜2か月目: 名簿データの取込み（匿名化した属性での事前検証）と操作研修\n"
                    "3〜7か月目: モデル2地区で計画作成（優先対象者から順に）\n"
                    "8か月目: 地区の避難訓練で計画を検証\n"
                    "9〜10か月目: 効果検証と全市展開に向けた運用案の作成",
        "cost_estimate": 9_500_000,
        "needs_from_municipality": "モデル地区の自主防災組織・福祉事業所との調整、名簿情報の取扱いに関する庁内手続、"
                                   "地域防災推進課職員の訓練への参加。",
    })
    _propose(scene, -15, 10, scene.member("fukushi-bosai"), kochi, scene.solution(CARE_PLANNING), {
        "title": "ケアプランの延長でつくる個別避難計画――福祉専門職と地区の調整会議の伴走",
        "approach": "ケアマネジャー・相談支援専門員向けに、ふだんのケアプラン作成の延長で個別避難計画をつくれる研修と"
                    "ひな型を提供します。モデル2地区では、自主防災組織・民生委員・本人・家族が集まる「調整会議」を"
                    "当法人が進行し、避難支援者を決めるところまで伴走します。優先度の高い方から順に、支援者と一緒に"
                    "避難経路を歩く訓練も実施します。",
        "schedule": "1か月目: 研修（2回）とひな型の調整\n2〜7か月目: モデル地区での調整会議（月2回程度）と避難経路の確認\n"
                    "8か月目: 振り返りと手引きの作成",
        "cost_estimate": 4_200_000,
        "needs_from_municipality": "モデル地区の福祉事業所への協力依頼、調整会議の会場（地区の集会所）の確保、"
                                   "市の計画様式の提供。",
    })
    with scene.on(-8, 14):
        proposals.shortlist(reimei, owner)


def story_yokohama_nursery(scene: Scene) -> None:
    """One proposal declined with a reason (the match closes as 不採択), one left waiting too long."""
    nursery = scene.challenge(YOKOHAMA_NURSERY)
    owner = scene.member("yokohama-hoiku")
    quiet = scene.stall + 10
    scene.published_before(nursery, -max(quiet + 4, 38))
    shinsei = scene.member("shinsei")
    with scene.on(-(quiet + 4), 10):
        question = qa.ask(nursery, shinsei, "前年度データでの並行検証に用いる匿名加工情報には、きょうだいの関係"
                                            "（同一世帯であること）が分かる項目は含まれますか。")
    with scene.on(-(quiet + 2), 17):
        qa.answer(question, owner, "世帯を識別する番号（仮番号）を付与した形で提供しますので、きょうだいの関係は"
                                   "分かります。氏名・住所は含みません。")
    argo = _propose(scene, -38, 16, scene.member("argo"), nursery, scene.solution(AI_NURSERY), {
        "title": "数理最適化による保育所等利用調整の自動割当てと、割当て理由の記録",
        "approach": "現行の保育システムからCSVで申請データを取り込み、利用調整基準に沿った割当てを数理最適化で算出"
                    "します。きょうだいの同一施設入所や転園の希望を同時に考慮し、割当ての理由を世帯ごとに記録して"
                    "問い合わせの対応に活用します。実証2区では前年度データで並行検証を行い、職員の手作業の結果との"
                    "一致率と作業時間を比較します。",
        "schedule": "1〜3か月目: 前年度データでの並行検証（2区）\n4〜6か月目: 検証結果の評価と設定方法の調整\n"
                    "7〜9か月目: 次年度の入所選考に向けた本番環境の準備",
        "cost_estimate": 16_000_000,
        "needs_from_municipality": "匿名加工した過去2年分の申請・調整データ、実証2区の担当職員による業務フローの説明。",
    })
    _propose(scene, -quiet, 10, shinsei, nursery, scene.solution(NURSERY_OPTIMISER), {
        "title": "標準準拠システムと連携する保育所利用調整の最適化――2区での並行検証から",
        "approach": "標準準拠の子ども・子育て支援システムとCSVで連携し、利用調整基準どおりの割当て案を数分で算出します。"
                    "割当ての根拠（順位・指数・競合の状況）を世帯ごとに記録し、保護者への説明資料を出力します。当社は"
                    "ガバメントクラウド上での稼働実績があり、本市の情報セキュリティ対策基準への適合状況を事前に"
                    "チェックリストで提出します。",
        "schedule": "1〜2か月目: セキュリティ適合確認とデータ連携の設定\n3〜5か月目: 2区での前年度データ並行検証\n"
                    "6か月目: 結果報告と本番導入の判断材料の提出",
        "cost_estimate": 18_500_000,
        "needs_from_municipality": "情報セキュリティ担当部署との事前協議の場、実証2区の前年度データ（匿名加工済み）。",
    })
    with scene.on(-12, 15):
        proposals.decline(argo, owner, "割当て理由の記録機能は評価しましたが、処理基盤が本市の情報セキュリティ対策基準と"
                                       "ガバメントクラウドへの移行方針に適合するかを確認できず、来年度の調達スケジュール"
                                       "に間に合わないため、今回は見送ります。")


# --- soundings: two open (with the demo accounts), one finished with its results ---------------


def story_sendai_sounding(scene: Scene) -> None:
    """The demo company books a slot in an open sounding; the dialogue is recorded on both sides."""
    sendai = scene.challenge(SENDAI_SHELTER)
    scene.published_before(sendai, -22)
    owner, rival = scene.member("sendai"), scene.member("sonaeru")
    with scene.on(-22, 13):
        match_service.express_interest(sendai, scene.solution(REIMEI_SHELTER), scene.company)
    with scene.on(-19, 10):
        question = qa.ask(sendai, rival, "事前登録のQRコードを住民に配布する方法（市の公式アプリへの組込み等）について、"
                                         "現時点で想定されている方法はありますか。")
    with scene.on(-17, 14):
        qa.answer(question, owner, "現時点で決まった方法はありません。市の公式アプリや防災メールの登録との連携を含め、"
                                   "ご提案ください。")
    with scene.on(-16, 9, 30):
        found = sounding.open_sounding(sendai, owner, {
            "title": "避難所受付のデジタル化に関するサウンディング型市場調査",
            "description": "紙の避難者カードに代わる受付の方法と、本部での避難者数の把握について、製品の機能・運用・費用の"
                           "考え方を個別に伺います。停電・通信途絶時の運用と、高齢の避難所運営委員でも使える操作性を"
                           "重点的にお聞きします。",
            "starts_on": scene.day(-3), "ends_on": scene.day(12), "entry_deadline": scene.day(6),
        })
        hall, online = "仙台市役所本庁舎 会議室", "オンライン（Web会議）"
        slots = [sounding.add_slot(found, owner, day=scene.day(d), start=time(h), end=time(h + 1), place=p)
                 for d, h, p in ((-2, 10, hall), (-2, 14, hall), (3, 10, online), (3, 14, online), (8, 10, hall))]
    with scene.on(-11, 11, 20):
        booking = sounding.book(found, slots[0], scene.solution(REIMEI_SHELTER), scene.company)
    with scene.on(-7, 16):
        sounding.book(found, slots[2], scene.solution(QR_SHELTER), rival)
    with scene.on(-2, 11, 30):
        sounding.add_note(booking, owner, "マイナンバーカードの読取りとQRコードの両方に対応。停電時はタブレット内に"
                                          "記録し、復旧後に同期する方式。要配慮者情報（アレルギー・介護）は受付時に"
                                          "選択式で入力でき、本部のダッシュボードに即時に反映される。避難行動要支援者"
                                          "名簿との照合は、名簿の庁内での取扱いの整理が前提。費用は〔非公開:法人等情報〕"
                                          "初期費用＋避難所数に応じた年額利用料（他市の例で1避難所当たり年額約6万円）"
                                          "〔/非公開〕。次回の地域防災訓練で試用できるか検討したい。")
    with scene.on(-1, 9, 15):
        sounding.add_note(booking, scene.company, "本日はありがとうございました。ご質問のあった通信途絶時の同期の仕組みと、"
                                                  "高齢の運営委員の方を想定した操作手順書（案）をお送りします。訓練での"
                                                  "試用には3会場分の端末を無償でお貸しできます。")


def story_asahikawa_sounding(scene: Scene) -> None:
    """The demo municipality asks the market what its vague "app" challenge really needs."""
    app = scene.challenge(ASAHIKAWA_APP)
    scene.published_before(app, -25)
    owner = scene.municipal
    komorebi, hagukumi = scene.member("komorebi"), scene.member("hagukumi")
    with scene.on(-25, 10):
        match_service.invite_company(app, scene.solution(PARENTING_APP), owner)
    with scene.on(-23, 10):
        found = sounding.open_sounding(app, owner, {
            "title": "子育て支援アプリのあり方に関するサウンディング",
            "description": "アプリの開発が最適な手段かどうかも含めて、市の子育て支援の情報を保護者に確実に届ける方法を"
                           "個別に伺います。既存サービスの活用や費用の考え方、効果を測る指標についてもお聞かせください。",
            "starts_on": scene.day(-2), "ends_on": scene.day(10), "entry_deadline": scene.day(5),
        })
        slots = [sounding.add_slot(found, owner, day=scene.day(d), start=time(h), end=time(h + 1), place=p)
                 for d, h, p in ((-1, 10, "旭川市役所 総合庁舎 会議室"), (4, 14, "オンライン（Web会議）"),
                                 (9, 10, "オンライン（Web会議）"))]
    with scene.on(-14, 13):
        booking = sounding.book(found, slots[0], scene.solution(PARENTING_APP), komorebi)
    with scene.on(-6, 15):
        sounding.book(found, slots[1], scene.solution(PUSH_NOTICES), hagukumi)
    with scene.on(-2, 18):
        qa.ask(app, hagukumi, "「子育て支援アプリ」は、新たにアプリを開発することが前提でしょうか。市の公式LINEや"
                              "電子申請システムとの連携で目的を達成する提案も対象になりますか。")
    with scene.on(-1, 12):
        sounding.add_note(booking, owner, "共通基盤型のアプリで、予防接種・健診のお知らせを月齢に応じて自動配信できる。"
                                          "独自開発より初期費用を大きく抑えられる〔非公開:法人等情報〕（初期費用は他市の"
                                          "実績で約300万円、年額利用料は人口規模に応じて設定）〔/非公開〕。"
                                          "記事の更新は職員が管理画面で行う。"
                                          "ダウンロード数ではなく、乳幼児健診の受診率や予防接種の期限内接種率を指標に"
                                          "してはどうかとの提案があった。")
    with scene.on(-1, 17, 30):
        sounding.add_note(booking, komorebi, "ご対応ありがとうございました。他市での指標設定の例（乳幼児健診の受診率、"
                                             "予防接種の期限内接種率）と、母子手帳アプリの利用率の推移をお送りします。")


def story_asahikawa_disclosure(scene: Scene) -> None:
    """情報公開請求: a citizen asks for the records of the app sounding; the dialogue record holds こもれび's
    prices (marked 非公開), so the demo municipality asks the company for its view first. The company
    has not answered yet: the release is refused until it does or the two weeks pass."""
    app = scene.challenge(ASAHIKAWA_APP)
    booking = next(b for s in sounding.soundings_of(app) for b in s.bookings
                   if b.organisation_id == scene.member("komorebi").organisation_id)
    with scene.on(-1, 19):
        third_party.start(record_kind="dialogue_disclosure", record_id=booking.id, title=booking.sounding.title,
                          challenge=app, company=booking.organisation, companies=[booking.organisation],
                          fields=dialogue_fields(booking), user=scene.municipal, deadline=None, today=scene.day(-1),
                          request_note="子育て支援アプリに関するサウンディングの記録一式（市民からの開示請求）")


def story_sendai_disclosure(scene: Scene) -> None:
    """情報公開請求 of the shelter sounding's records: 仙台市 asks the demo company for its view on the
    dialogue record (its prices marked 非公開); the company finds the request on its dashboard."""
    sendai = scene.challenge(SENDAI_SHELTER)
    booking = next(b for s in sounding.soundings_of(sendai) for b in s.bookings
                   if b.organisation_id == scene.company.organisation_id)
    with scene.on(-1, 18):
        third_party.start(record_kind="dialogue_disclosure", record_id=booking.id, title=booking.sounding.title,
                          challenge=sendai, company=booking.organisation, companies=[booking.organisation],
                          fields=dialogue_fields(booking), user=scene.member("sendai"), deadline=None,
                          today=scene.day(-1), request_note="避難所受付のデジタル化に関するサウンディングの対話記録"
                                                            "（報道機関からの開示請求）")


def story_yokohama_sewer(scene: Scene) -> None:
    """A finished sounding with its published results: one company moves on to a pilot, the other
    has heard nothing since (stalled)."""
    sewer = scene.challenge(YOKOHAMA_SEWER)
    owner = scene.member("yokohama-gesuido")
    tokiwa, kanrobo = scene.member("tokiwa"), scene.member("kanrobo")
    quiet = scene.stall + 12
    scene.published_before(sewer, -(quiet + 28))
    # The dialogue took place in the past; the rules accept bookings only before the entry deadline,
    # so the sounding is opened with its dates moved into the future and moved back after the bookings.
    entry = -(quiet + 9)
    lead = max(0, (local_today() - scene.day(entry)).days + 1)
    with scene.on(-(quiet + 28), 10):
        found = sounding.open_sounding(sewer, owner, {
            "title": "下水道管路の点検の効率化に関するサウンディング型市場調査",
            "description": "管内調査の速度の向上と映像判定の省力化について、技術の適用可能性と費用感、実証の進め方を"
                           "個別に伺います。対象は市内2処理区の管路（約20km）です。",
            "starts_on": scene.day(-(quiet + 6) + lead), "ends_on": scene.day(-quiet + lead),
            "entry_deadline": scene.day(entry + lead),
        })
        slots = [sounding.add_slot(found, owner, day=scene.day(d + lead), start=time(h), end=time(h + 1), place=p)
                 for d, h, p in ((-(quiet + 6), 10, "下水道河川局 会議室"), (-(quiet + 6), 14, "下水道河川局 会議室"),
                                 (-(quiet + 5), 10, "オンライン（Web会議）"))]
    with scene.on(-(quiet + 20), 11):
        first = sounding.book(found, slots[0], scene.solution(SEWER_AI), tokiwa)
    with scene.on(-(quiet + 15), 15):
        second = sounding.book(found, slots[2], scene.solution(SEWER_ROBOT), kanrobo)
    _move_sounding(found, -lead)
    with scene.on(-(quiet + 6), 12):
        sounding.add_note(first, owner, "AI判定は本市の既存の調査映像（過去10年分）にも適用できるとのこと。劣化度ランクは"
                                        "本市の判定基準に合わせて学習し直す必要があり、約2か月を見込む。1処理区分の映像"
                                        "判定から始める実証を提案された。")
    with scene.on(-(quiet + 5), 16):
        sounding.add_note(second, owner, "流下状態のまま調査できる点は魅力。対応管径は250〜600mm。1日2kmの実績は直線の"
                                         "多い区間での値で、本市の区間では1日1km程度の見込み。交通規制が不要なため、"
                                         "夜間作業を減らせる。")
    with scene.on(-quiet, 10):
        sounding.add_note(second, kanrobo, "ご質問いただいた管径200mmの区間への対応について、試作機の資料をお送りします。"
                                           "実証の進め方について、ご検討の状況をお知らせいただけますと幸いです。")
    with scene.on(-max(scene.stall, 1), 14):
        sounding.publish_results(found, owner, "2社と個別対話を行いました。主な意見は次のとおりです。"
                                               "①既存の調査映像にAI判定を適用することで、技術者の判定時間を半分以下に"
                                               "できる見込みがある。②自走式ロボットによるスクリーニングは交通規制が不要"
                                               "で、調査延長の拡大に有効である。③いずれも本市の判定基準に合わせた調整"
                                               "期間（2〜3か月）が必要である。本市では、映像判定の省力化から実証に着手する"
                                               "予定です。")
    with scene.on(-8, 15):
        pilots.plan(first.match, owner, {
            "summary": "1処理区（約10km）の過去の調査映像と新たに撮影する映像をAIで判定し、技術者の判定結果と比較する。",
            "starts_on": scene.day(14), "ends_on": scene.day(120),
            "responsibilities": "市: 調査映像と判定結果の提供、技術者による判定の確認。企業: AIの調整と判定、報告書の作成。",
            "cost_sharing": "実証期間中のAI判定の費用は企業が負担し、新たな撮影は市の既存の調査業務の中で行う。",
        }, _kpis(("映像判定に要する技術者の作業時間（1km当たり）", "時間", 16, 6),
                 ("AI判定と技術者判定の一致率（劣化度ランク）", "%", None, 85)))
    with scene.on(-2, 10):  # a works contract above 別表第三's amount: the budget pack flags 議会の議決
        pilots.record_budget_request(first.match, owner, scene.day(-2), 360_000_000,
                                     "AI判定で優先度を付けた管路の更生工事（製造を含む請負）を翌年度に要求。",
                                     contract_kind="works")


# --- pilots: one without a budget request (warning), one reported; adoptions; a failed pilot ---


def story_kyotango_pilot(scene: Scene) -> None:
    """A pilot running into next fiscal year without a budget request: the budget warning shows."""
    clinic = scene.challenge(KYOTANGO_CLINIC)
    owner, vendor = scene.member("kyotango"), scene.member("hospitalwheel")
    year = fiscal_year_of(scene.today)
    # It runs across this year's budget-request milestone and ends in the next fiscal year.
    starts = min(scene.day(-60), date(year, 10, 1))
    ends = date(year + 1, 5, 31)
    s = (starts - scene.today).days
    proposal = _propose(scene, s - 70, 14, vendor, clinic, scene.solution(CLINIC_CAR), {
        "title": "看護師が同乗するオンライン診療車で、2地区の通院が難しい患者に定期診療を届ける",
        "approach": "診療機器と通信設備を積んだ車両に看護師が同乗して患者の自宅や公民館を訪ね、市立病院の医師が"
                    "オンラインで診察します。看護師がバイタルの測定や聴診・エコーの操作を補助し、医師の移動時間を"
                    "減らしながら定期受診を続けられるようにします。予約・訪問ルートの作成・請求のシステムも提供し、"
                    "実証後は市立病院が運営主体となれるよう運営モデルを設計します。",
        "schedule": "1か月目: 車両の配備と看護師への操作研修、住民説明会\n2〜9か月目: 週3日の運行と効果測定\n"
                    "最終月: 運営モデルと診療報酬の算定方法の整理",
        "cost_estimate": 14_000_000,
        "needs_from_municipality": "実証地区の選定と住民説明、公民館の提供、市立病院・協力診療所との調整。",
    })
    with scene.on(s - 55, 11):
        proposals.shortlist(proposal, owner)
    _settle_challenge(scene, clinic, owner, proposed=s - 70, closed=s - 45, fiscal_year=year)
    with scene.on(s - 25, 10):
        pilots.plan(proposal.match, owner, {
            "summary": "市内2地区で、看護師が同乗するオンライン診療車を週3日運行し、慢性疾患の患者約40名の定期診療を行う。",
            "starts_on": starts, "ends_on": ends,
            "responsibilities": "市: 実証地区の選定と住民説明、公民館の提供、市立病院との調整。市立病院: 医師による"
                                "オンライン診察と看護師の派遣。企業: 車両・機器・システムの提供、運行管理、操作研修。",
            "cost_sharing": "車両・システムの費用は企業が負担し、運行経費（燃料・保険）は市が負担する。診療報酬は"
                            "市立病院が算定する。",
        }, _kpis(("実証地区の慢性疾患患者の定期受診継続率", "%", 75, 90),
                 ("医師1人当たりの訪問診療に伴う移動時間（週）", "時間", 8, 4),
                 ("オンライン診療の実施件数（月）", "件", 0, 60)))
    with scene.on(s + 30, 16):
        pilots.add_update(proposal.match, vendor, "運行開始から1か月で、登録患者38名のうち35名が予定どおりオンライン"
                                                  "診療を受けました。山間部の2か所で通信が不安定になるため、車載ルーターの"
                                                  "設定を見直しています。")
    with scene.on(-10, 17):
        pilots.add_update(proposal.match, owner, "先月のオンライン診療は52件。医師の移動時間は週あたり約3.5時間減り"
                                                 "ました。悪天候で運行できない日の代わりの手段（電話での再診）を病院と"
                                                 "確認しています。")
    with scene.on(-5, 11):
        pilots.add_update(proposal.match, scene.coordinator, "実証は来年度まで続きます。終了後も切れ目なく運行を"
                                                              "続けるには、財政課への予算要求の登録が必要です。"
                                                              "状況を教えてください。")


def story_kitakyushu_pilot(scene: Scene) -> None:
    """A finished pilot with its results report (in the case library), budget requested in time."""
    care = scene.challenge(KITAKYUSHU_CARE)
    owner, vendor = scene.member("kitakyushu"), scene.member("carerhythm")
    starts, ends = scene.day(-240), scene.day(-30)
    proposal = _propose(scene, -315, 13, vendor, care, scene.solution(CARE_VOICE), {
        "title": "音声入力と自動要約で介護記録と申し送りの時間を減らし、ケアに向き合う時間を取り戻す",
        "approach": "介護職員がインカムやスマートフォンに話しかけるだけで、食事・排泄・バイタルなどの記録を項目ごとに"
                    "仕分けて介護記録ソフトに登録します。夜勤の記録からは申し送りの要約を自動で作成します。導入前に"
                    "各施設の業務の流れを分析し、記録様式の見直しから定着までを当社のコンサルタントが伴走します。",
        "schedule": "1か月目: 業務分析と記録様式の見直し\n2〜8か月目: モデル施設での運用と計測\n最終月: 効果検証報告",
        "cost_estimate": 8_600_000,
        "needs_from_municipality": "モデル施設の紹介と調整、利用者・家族への説明資料の確認、介護ロボット等導入補助の案内。",
    })
    with scene.on(-300, 15):
        proposals.shortlist(proposal, owner)
    _settle_challenge(scene, care, owner, proposed=-315, closed=-290, fiscal_year=fiscal_year_of(starts))
    match = proposal.match
    with scene.on(-270, 10):
        pilots.plan(match, owner, {
            "summary": "モデル施設3か所（特別養護老人ホーム2、グループホーム1）の介護職員約60名が、介護記録を音声で"
                       "入力し、夜勤の申し送りを自動要約で行う。",
            "starts_on": starts, "ends_on": ends,
            "responsibilities": "市: モデル施設との調整と効果の検証。施設: 職員への周知と利用者・家族の同意の取得。"
                                "企業: 端末とソフトの提供、業務分析、操作研修と伴走支援。",
            "cost_sharing": "実証期間中の利用料と伴走支援の費用は企業が負担し、インカムは施設の既存の機器を使う。",
        }, _kpis(("介護職員の勤務時間に占める間接業務の割合", "%", 30, 20),
                 ("介護記録の作成時間（職員1人・1日当たり）", "分", 70, 40),
                 ("夜勤から日勤への申し送り時間", "分", 30, 15)))
    with scene.on(-195, 17):
        pilots.add_update(match, vendor, "3施設すべてで音声入力の運用を始めました。方言や専門用語の誤認識が多かった"
                                         "ため、施設ごとに単語を登録しています。")
    with scene.on(-120, 16):
        pilots.add_update(match, owner, "中間計測で記録の作成時間が約4割減りました。夜勤の職員には申し送りの要約が"
                                        "好評です。グループホームでは端末の充電場所の確保が課題です。")
    _request_budget_in_time(scene, match, owner, 7_200_000, "モデル施設以外の市内10施設への導入支援費として要求。")
    with scene.on(-18, 14):
        pilots.report(match, owner, verdict="success", actuals=_actuals(match, (22, 38, 14)), summary=(
            "3施設・約60名で約7か月間実証した。介護記録の作成時間は1人1日70分から38分に、申し送りは30分から14分に"
            "短縮した。間接業務の割合は22%で目標の20%には届かなかったが、職員アンケートでは8割が継続利用を希望した。"
            "介護記録ソフトとの連携設定を標準化できたため、他施設への展開は2週間程度で可能と見込む。"))


def story_fukuoka_adoption(scene: Scene) -> None:
    """Proposal → pilot → results → budget → adoption (導入): the full path into the case library."""
    ambulance = scene.challenge(FUKUOKA_AMBULANCE)
    owner, vendor = scene.member("fukuoka"), scene.member("triagelab")
    year = fiscal_year_of(scene.today)
    # Last fiscal year's pilot, budget requested at its October milestone, adopted this fiscal year.
    starts, ends = date(year - 1, 7, 1), date(year - 1, 12, 20)
    s, e = (starts - scene.today).days, (ends - scene.today).days
    proposal = _propose(scene, s - 70, 10, vendor, ambulance, scene.solution(TRIAGE_GUIDE), {
        "title": "消防庁プロトコルに準拠した救急受診ガイドを市公式アプリに組み込み、迷ったときの受診先まで案内する",
        "approach": "症状と年齢を選んで質問に答えると、緊急度判定プロトコルに準拠した判定で「すぐに救急車を」"
                    "「今から受診を」「様子を見て」などの目安と、今受診できる医療機関を表示します。救急車を呼ぶべき"
                    "兆候があるときは、ためらわずに119番通報するよう強く案内します。救急医療電話相談への接続と、"
                    "多言語の表示にも対応します。",
        "schedule": "1か月目: 市公式アプリへの組込みと消防局による判定ロジックの確認\n2〜6か月目: 公開と利用状況の計測\n"
                    "最終月: 搬送データとの突合による効果検証",
        "cost_estimate": 11_000_000,
        "needs_from_municipality": "救急出動・搬送データ（匿名化）の提供、救急医療電話相談との連携の協議、"
                                   "市公式アプリ・ウェブサイトでの周知。",
    })
    with scene.on(s - 50, 15):
        proposals.shortlist(proposal, owner)
    _settle_challenge(scene, ambulance, owner, proposed=s - 70, closed=s - 45, fiscal_year=year - 1)
    match = proposal.match
    with scene.on(s - 20, 10):
        pilots.plan(match, owner, {
            "summary": "市公式アプリとウェブに救急受診ガイドを組み込み、約6か月間、市民に公開する。救急医療電話相談"
                       "への接続も行う。",
            "starts_on": starts, "ends_on": ends,
            "responsibilities": "市（消防局）: 判定ロジックの確認、搬送データの提供、周知。企業: ガイドの提供と運用、"
                                "利用状況の集計。",
            "cost_sharing": "実証期間中の利用料は企業が負担し、周知の費用は市が負担する。",
        }, _kpis(("救急受診ガイドの利用件数（月）", "件", 5000, 10000),
                 ("救急搬送者に占める軽症者の割合", "%", 50, 46),
                 ("119番通報を案内された利用者の通報率", "%", 88, 95)))
    with scene.on(s + 40, 16):
        pilots.add_update(match, vendor, "公開から1か月の利用は約7,800件。夜間（20時〜翌2時）の利用が全体の4割を"
                                         "占めています。")
    with scene.on(s + 120, 11):
        pilots.add_update(match, owner, "搬送データとの突合を始めました。ガイドで「様子を見て」と案内された人の"
                                        "再受診の状況も確認します。")
    with scene.on((date(year - 1, 10, 15) - scene.today).days, 15):
        pilots.record_budget_request(match, owner, date(year - 1, 10, 15), 12_000_000,
                                     "本格導入と多言語表示の追加（英語・中国語・韓国語）の費用として要求。")
    with scene.on(e + 20, 14):
        pilots.report(match, owner, verdict="success", actuals=_actuals(match, (11200, 47.1, 96)), summary=(
            "約6か月で延べ約6万件の利用があった。救急搬送者に占める軽症者の割合は50%から47.1%に下がり、119番通報を"
            "案内された利用者の96%が実際に通報した。救急医療電話相談の待ち時間も短くなった。"))
    adopted_on = min(date(year, 4, 10), scene.day(-3))
    with scene.on((adopted_on - scene.today).days, 11):
        match_service.adopt(match, owner, fiscal_year=year, route="proposal", amount=11_880_000, adopted_on=adopted_on,
                            note="実証の結果を踏まえ、公募型プロポーザルを経て本格導入。多言語表示を追加する。")


def story_kobe_adoption(scene: Scene) -> None:
    """Adopted straight from the proposal, without a pilot (随意契約)."""
    vacant = scene.challenge(KOBE_VACANT)
    owner = scene.member("kobe")
    proposal = _propose(scene, -210, 11, scene.member("minase"), vacant, scene.solution(VACANCY_SURVEY), {
        "title": "庁内データと外観調査による空き家の早期把握と、所有者調査の一括支援",
        "approach": "水道の閉栓情報と外観調査を組み合わせて管理不全のおそれがある空き家を抽出し、登記簿・戸籍の調査に"
                    "必要な書類の準備と相続関係説明図の作成を専門スタッフが支援します（戸籍等の請求は市の名義で行います）。"
                    "苦情案件100件を対象に、所有者への意向調査票の発送・回収・集計と、売却・解体・管理の相談先の案内"
                    "までを一括で受託します。",
        "schedule": "1か月目: 対象100件の資料整理と外観調査\n2〜4か月目: 所有者調査（相続関係説明図の作成）\n"
                    "5〜6か月目: 意向調査の発送・回収と相談先の案内\n7か月目: 結果報告",
        "cost_estimate": 6_600_000,
        "needs_from_municipality": "空き家相談記録（匿名化）の共有、戸籍・住民票の請求手続（職員の名義）、"
                                   "専門家団体との連携の枠組みへの参加。",
    })
    with scene.on(-190, 14):
        proposals.shortlist(proposal, owner)
    second = scene.member("kobe-2")
    with scene.on(-188, 10):  # the evaluation sheet of two evaluators; the adoption below freezes the selection record
        for name, weight, score, other in (("課題の理解度", 30, 5, 5), ("実現可能性", 30, 4, 4),
                                           ("費用の妥当性", 20, 4, 5), ("個人情報の取扱い", 20, 5, 4)):
            criterion = evaluation.add_criterion(vacant, owner, name, weight)
            evaluation.set_score(proposal, criterion, owner, score)
            evaluation.set_score(proposal, criterion, second, other)
    year = fiscal_year_of(scene.day(-160))
    _settle_challenge(scene, vacant, owner, proposed=-210, closed=-185, fiscal_year=year)
    with scene.on(-160, 11):
        match_service.adopt(proposal.match, owner, fiscal_year=year, route="negotiated", amount=6_600_000,
                            adopted_on=scene.day(-160), negotiated_ground="2",
                            note="評価シートの加重平均4.5点。庁内データと所有者調査を一括して担える事業者が他になく、"
                                 "競争入札に適しないため随意契約（第2号）を締結。まず苦情案件100件の所有者調査から着手する。")


def story_toyooka_closed(scene: Scene) -> None:
    """A pilot that fell short: reported (the case library learns from it too), then closed."""
    foodloss = scene.challenge(TOYOOKA_FOODLOSS)
    owner, vendor = scene.member("toyooka"), scene.member("tabekiri")
    starts, ends = scene.day(-210), scene.day(-60)
    proposal = _propose(scene, -270, 15, vendor, foodloss, scene.solution(FOODLOSS_METER), {
        "title": "料理ごとの食べ残しを量って、満足度を下げずに献立と盛り付けを見直す",
        "approach": "下げ膳のときに食べ残しを料理ごとのトレーに入れて量るだけで、カメラとはかりが残食量を自動で記録"
                    "します。献立や盛り付けの量ごとの残食率を分析し、満足度を下げずに減らせる料理を提案します。"
                    "残った生ごみは提携する堆肥化の事業者につなぎます。",
        "schedule": "1か月目: 協力旅館への機器設置と計量手順の説明\n2〜5か月目: 計量と献立の見直し\n最終月: 効果検証",
        "cost_estimate": 2_800_000,
        "needs_from_municipality": "協力旅館の紹介と旅館組合との調整、クリーンセンターの搬入量データの提供。",
    })
    with scene.on(-255, 10):
        proposals.shortlist(proposal, owner)
    _settle_challenge(scene, foodloss, owner, proposed=-270, closed=-250, fiscal_year=fiscal_year_of(starts))
    match = proposal.match
    with scene.on(-230, 14):
        pilots.plan(match, owner, {
            "summary": "城崎温泉の協力旅館5軒で、下げ膳のときに料理ごとの食べ残しを量り、献立と盛り付けの量を見直す。",
            "starts_on": starts, "ends_on": ends,
            "responsibilities": "市: 旅館組合との調整と効果の検証。旅館: 計量の実施。企業: 機器の設置と分析、献立の提案。",
            "cost_sharing": "機器と分析の費用は企業が負担し、市の脱炭素関連補助を旅館の負担分に充てる。",
        }, _kpis(("宿泊者1人当たりの食べ残し量（実証旅館平均）", "g", 300, 200),
                 ("食品ロス削減に取り組む旅館数", "軒", 3, 10)))
    with scene.on(-160, 17):
        pilots.add_update(match, vendor, "5軒すべてで計量を始めました。ご飯と揚げ物の残食が多く、盛り付けの量の"
                                         "見直しを提案しています。")
    _request_budget_in_time(scene, match, owner, 2_400_000,
                            "協力旅館を10軒に広げる費用として要求。実証の結果を見て継続を判断する。")
    with scene.on(-45, 15):
        pilots.report(match, owner, verdict="partial", actuals=_actuals(match, (252, 6)), summary=(
            "5軒で約5か月実証した。ご飯と揚げ物の盛り付けの量を見直し、1人当たりの食べ残しは300gから252gに減ったが、"
            "目標の200gには届かなかった。繁忙期は計量の手間が負担になり、2軒が途中から計量を週2日に減らした。"))
    with scene.on(-25, 16):
        match_service.close(match, owner, "insufficient_effect",
                            "食べ残しの削減幅が目標に届かず、計量の作業が繁忙時間帯の負担になるとの声が多かったため、"
                            "本格導入は見送ります。計量を簡素化できる方法が見つかれば、旅館組合と改めて検討します。")


def story_yokohama_handover(scene: Scene) -> None:
    """人事異動: 吉田 (the sewer challenge's responsible staff) hands over to 中村; the match that had
    heard nothing keeps silent after the transfer too, so the board shows it as stalled since then."""
    sewer = scene.challenge(YOKOHAMA_SEWER)
    leaver, successor = scene.member("yokohama-gesuido"), scene.member("yokohama-gesuido-2")
    sewer.author_id = leaver.id
    with scene.on(-(handover.STALLED_AFTER_HANDOVER_DAYS + 6), 9):
        handover.hand_over(scene.coordinator, sewer.organisation, leaver, successor, "4月1日付 人事異動（demo）")


def story_kochi_handover(scene: Scene) -> None:
    """A handover outside April: 山本 (the evacuation challenge's staff) hands over to 西村 before her
    leave; the two proposing companies, the demo company among them, are told who their new contact is.
    It is recent, so the board does not list it as stalled."""
    kochi = scene.challenge(KOCHI_EVACUATION)
    leaver, successor = scene.member("kochi"), scene.member("kochi-2")
    kochi.author_id = leaver.id
    with scene.on(-5, 9):
        handover.hand_over(leaver, kochi.organisation, leaver, successor, "育児休業に伴う担当替え（demo）")


STORIES = (
    story_interest, story_naha_withdrawal, story_asahikawa_snow, story_kochi, story_yokohama_nursery,
    story_sendai_sounding, story_asahikawa_sounding, story_asahikawa_disclosure, story_sendai_disclosure,
    story_yokohama_sewer, story_kyotango_pilot, story_kitakyushu_pilot, story_fukuoka_adoption, story_kobe_adoption,
    story_toyooka_closed, story_yokohama_handover, story_kochi_handover,
)


def _check_cast(scene: Scene) -> None:
    """The stories give the demo accounts 旭川市's challenges and レイメイ情報基盤's profiles."""
    if scene.challenge(ASAHIKAWA_SNOW).organisation_id != scene.municipal.organisation_id:
        raise LookupError("the demo municipal account does not belong to the municipality of the pipeline stories")
    if scene.solution(REIMEI_SHELTER).organisation_id != scene.company.organisation_id:
        raise LookupError("the demo company account does not belong to the company of the pipeline stories")


def load(demo: DemoData) -> None:
    """Add the demo pipeline to a site that has no match yet (called by the loader; flushes, never commits)."""
    if db.session.scalar(select(Match.id).limit(1)) is not None:
        return
    if demo.today < local_today():
        return  # a demo dated in the past (tests only): the rules would refuse its open items today
    with ExitStack() as stack:
        if not has_request_context():  # the services build links with url_for (CLI: no SERVER_NAME)
            stack.enter_context(current_app.test_request_context())
        scene = Scene(demo=demo, stall=int(current_app.config["STALLED_AFTER_DAYS"]), since=datetime.now(UTC))
        _check_cast(scene)
        create_staff(scene)
        for story in STORIES:
            story(scene)
        db.session.flush()

