"""Deterministic synthetic corpus for benchmarking scalelint.

    python bench/corpus.py OUT_DIR --files N [--seed S]

Writes N ``.py`` files (package ``__init__.py`` files included) laid out like a
mid-sized Django shop with a few SQLAlchemy, psycopg2 and redis corners:
``shop/<app>/{models,views,services,tasks,repositories,reporting,caching,...}.py``
plus ``scripts/``. Every module other than ``__init__.py`` is 80-400 lines.

About 60% of the modules carry no database or cache vocabulary at all (plain
utilities, dataclasses, string, money and date helpers), which is the share
that scalelint's vocabulary prefilter lets skip parsing. The rest mix clean
code with the patterns scalelint flags: connections acquired and closed by
hand without try/finally, connections never closed, network calls inside
``transaction.atomic()``, queries in loops, ``cache.set`` without a timeout,
``redis.keys(pattern)``, replica reads feeding writes.

The output depends only on N and the seed: the same arguments give
byte-identical files. Every file is compiled before it is written, and every
"plain" module is checked against a list of database/cache words.

All code here is generated from the templates below; none is taken from any
existing project.
"""
from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

MIN_LINES, MAX_LINES = 80, 400
PLAIN_SHARE = 0.60
MARKER = ".synthetic-corpus"
MAX_USES = 3  # a template appears at most this many times in one module
NAME_SUFFIXES = ["_legacy", "_v2", "_bulk", "_for_admin", "_internal", "_strict", "_batch", "_compat", "_fast",
                 "_simple", "_new", "_old"]

# A plain module must contain none of these (case-sensitive substrings).
DB_CACHE_WORDS = (
    "connect", "cursor", "session", "Session", "acquire", "getconn", "conn", "cache", "Cache",
    "redis", "objects", "transaction", "atomic", "execute", "query", "Query", "sql", "SQL",
    "database", "db", "replica", "using(", "commit", "rollback", "fetch", "engine", "pool",
    "Pool", "psycopg", "sqlalchemy", "django", "celery", "DSN", "dsn", "select(", "cur.",
)

STDLIB = {
    "__future__", "argparse", "collections", "contextlib", "csv", "dataclasses", "datetime",
    "decimal", "enum", "functools", "hashlib", "hmac", "io", "itertools", "json", "logging",
    "math", "os", "random", "re", "sqlite3", "statistics", "string", "sys", "textwrap", "time",
    "typing", "unicodedata", "uuid", "zlib", "base64", "operator", "pathlib", "urllib.parse",
}

# --------------------------------------------------------------------------------------
# Domains: each app of the fake shop is one of these (repeated with a suffix when the
# corpus needs more apps than there are domains).
# --------------------------------------------------------------------------------------
DOMAINS = [
    dict(app="orders", Model="Order", Child="OrderLine", ident="number", amount="total", when="placed_at",
         statuses=("pending", "paid", "shipped", "cancelled"), fk="customer", Fk="Customer", fk_app="accounts"),
    dict(app="billing", Model="Invoice", Child="InvoiceItem", ident="reference", amount="amount_due", when="issued_at",
         statuses=("draft", "open", "paid", "void"), fk="account", Fk="Account", fk_app="accounts"),
    dict(app="catalog", Model="Product", Child="Variant", ident="sku", amount="price", when="last_restocked_at",
         statuses=("draft", "active", "archived"), fk="category", Fk="Category", fk_app="catalog"),
    dict(app="inventory", Model="StockItem", Child="StockMovement", ident="sku", amount="unit_cost", when="counted_at",
         statuses=("available", "reserved", "damaged"), fk="warehouse", Fk="Warehouse", fk_app="inventory"),
    dict(app="accounts", Model="Customer", Child="Address", ident="email", amount="lifetime_value", when="joined_at",
         statuses=("active", "suspended", "closed"), fk="company", Fk="Company", fk_app="accounts"),
    dict(app="shipping", Model="Shipment", Child="Parcel", ident="tracking_code", amount="shipping_cost",
         when="dispatched_at", statuses=("created", "in_transit", "delivered", "returned"), fk="carrier", Fk="Carrier",
         fk_app="shipping"),
    dict(app="payments", Model="Payment", Child="Refund", ident="provider_ref", amount="amount", when="captured_at",
         statuses=("authorized", "captured", "failed", "refunded"), fk="order", Fk="Order", fk_app="orders"),
    dict(app="subscriptions", Model="Subscription", Child="UsageRecord", ident="external_id", amount="monthly_price",
         when="renews_at", statuses=("trialing", "active", "past_due", "canceled"), fk="plan", Fk="Plan",
         fk_app="subscriptions"),
    dict(app="support", Model="Ticket", Child="TicketReply", ident="ticket_no", amount="sla_hours", when="opened_at",
         statuses=("new", "open", "waiting", "solved"), fk="requester", Fk="Customer", fk_app="accounts"),
    dict(app="reviews", Model="Review", Child="ReviewVote", ident="slug", amount="rating", when="published_at",
         statuses=("pending", "published", "rejected"), fk="product", Fk="Product", fk_app="catalog"),
    dict(app="loyalty", Model="RewardAccount", Child="RewardEvent", ident="member_code", amount="points",
         when="last_earned_at", statuses=("bronze", "silver", "gold"), fk="customer", Fk="Customer", fk_app="accounts"),
    dict(app="promotions", Model="Coupon", Child="Redemption", ident="code", amount="discount_percent",
         when="expires_at", statuses=("scheduled", "live", "expired"), fk="campaign", Fk="Campaign",
         fk_app="promotions"),
    dict(app="vendors", Model="Vendor", Child="PurchaseOrder", ident="vendor_code", amount="credit_limit",
         when="onboarded_at", statuses=("prospect", "approved", "blocked"), fk="region", Fk="Region", fk_app="vendors"),
    dict(app="bookings", Model="Booking", Child="Guest", ident="confirmation", amount="deposit", when="starts_at",
         statuses=("held", "confirmed", "checked_in", "no_show"), fk="venue", Fk="Venue", fk_app="bookings"),
]
INT_AMOUNTS = {"rating", "points", "sla_hours", "discount_percent"}
APP_SUFFIXES = ["eu", "us", "legacy", "partner", "internal", "b2b", "marketplace", "archive", "apac", "wholesale"]


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def plural(word: str) -> str:
    if word.endswith("y") and not word.endswith(("ay", "ey", "oy")):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def domain_vars(domain: dict) -> dict[str, str]:
    model = snake(domain["Model"])
    child = snake(domain["Child"])
    st = domain["statuses"]
    return {
        "app": domain["app"],
        "Model": domain["Model"],
        "model": model,
        "models": plural(model),
        "Models": plural(domain["Model"]),
        "Child": domain["Child"],
        "child": child,
        "children": plural(child),
        "ident": domain["ident"],
        "amount": domain["amount"],
        "when": domain["when"],
        "fk": domain["fk"],
        "Fk": domain["Fk"],
        "fk_app": domain["fk_app"],
        "s0": st[0],
        "s1": st[1],
        "s_last": st[-1],
        "S0": st[0].upper(),
        "S_LAST": st[-1].upper(),
        "table": f"{domain['app']}_{model}",
        "child_table": f"{domain['app']}_{child}",
        "fk_table": f"{domain['fk_app']}_{snake(domain['Fk'])}",
        "label": model.replace("_", " "),
        "labels": plural(model).replace("_", " "),
        "MODEL": model.upper(),
    }


# --------------------------------------------------------------------------------------
# Module context: collects imports, module-level constants and unique names.
# --------------------------------------------------------------------------------------
@dataclass
class Ctx:
    rng: random.Random
    vars: dict[str, str]
    kind: str
    imports: set[tuple[str, str]] = field(default_factory=set)  # (module, name or "")
    consts: dict[str, str] = field(default_factory=dict)  # key -> code, in insertion order
    names: set[str] = field(default_factory=set)
    statuses: tuple[str, ...] = ()

    # -- helpers used by templates ------------------------------------------------------
    def imp(self, *specs: str) -> None:
        """'json' -> import json; 'django.db:transaction' -> from django.db import transaction."""
        for spec in specs:
            module, _, name = spec.partition(":")
            self.imports.add((module, name))

    def const(self, key: str, code: str, *imports: str) -> None:
        self.imp(*imports)
        if key not in self.consts:
            self.consts[key] = self.t(code)

    def logger(self) -> str:
        self.const("logger", "logger = logging.getLogger(__name__)", "logging")
        return "logger"

    def name(self, base: str) -> str:
        """``base`` (a template), made unique in the module: a second helper with
        the same job gets a suffix the way real code does (``_legacy``, ``_v2``...)."""
        base = Template(base).substitute(self.vars)
        candidate = base
        if candidate in self.names:
            suffixes = [s for s in NAME_SUFFIXES if f"{base}{s}" not in self.names]
            candidate = f"{base}{self.rng.choice(suffixes)}" if suffixes else f"{base}_{len(self.names)}"
        if base[:1].isupper() and candidate != base:  # class names: CamelCase suffix
            candidate = base + "".join(p.title() for p in candidate[len(base):].split("_"))
        self.names.add(candidate)
        return candidate

    def pick(self, seq):
        return self.rng.choice(list(seq))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def t(self, text: str, **extra: str) -> str:
        values = dict(self.vars)
        values.update(extra)
        return Template(textwrap.dedent(text).strip("\n")).substitute(values)

    def doc(self, *options: str, indent: int = 4) -> str:
        """A docstring line (or nothing, sometimes) for a function body."""
        if self.chance(0.25):
            return ""
        text = Template(self.pick(options)).substitute(self.vars)
        return " " * indent + f'"""{text}"""\n'

    def timeout(self) -> str:
        return str(self.pick([60, 120, 300, 600, 900, 1800, 3600, 86400]))


def fn(c: Ctx, header: str, doc: str, body: str, **extra: str) -> str:
    """Render a function: header line (template), optional docstring, dedented body."""
    head = c.t(header, **extra)
    body = textwrap.indent(c.t(body, **extra), "    ")
    return f"{head}\n{doc}{body}"


# ======================================================================================
# Plain templates: no database or cache vocabulary.
# ======================================================================================
def p_dataclass(c: Ctx) -> str:
    c.imp("dataclasses:dataclass", "dataclasses:field", "decimal:Decimal", "datetime:datetime", "typing:Any")
    cls = c.name(c.pick(["${Model}Summary", "${Model}Draft", "${Model}Snapshot", "${Child}Line", "${Model}Row"]))
    frozen = "frozen=True" if c.chance(0.5) else ""
    extra = c.pick([
        "    tags: list[str] = field(default_factory=list)\n",
        "    notes: str = \"\"\n",
        "    metadata: dict[str, Any] = field(default_factory=dict)\n",
        "",
    ])
    return c.t("""
        @dataclass($frozen)
        class $cls:
            $ident: str
            $amount: Decimal
            status: str = "$s0"
            $when: datetime | None = None
        ${extra}
            @property
            def is_final(self) -> bool:
                return self.status == "$s_last"

            def to_dict(self) -> dict[str, Any]:
                return {
                    "$ident": self.$ident,
                    "$amount": str(self.$amount),
                    "status": self.status,
                    "$when": self.$when.isoformat() if self.$when else None,
                }

            @classmethod
            def from_dict(cls, data: dict[str, Any]) -> "$cls":
                raw_when = data.get("$when")
                return cls(
                    $ident=str(data["$ident"]),
                    $amount=Decimal(str(data.get("$amount", "0"))),
                    status=data.get("status", "$s0"),
                    $when=datetime.fromisoformat(raw_when) if raw_when else None,
                )
        """, cls=cls, frozen=frozen, extra=extra.rstrip("\n") + "\n" if extra else "")


def p_enum(c: Ctx) -> str:
    c.imp("enum:Enum")
    cls = c.name("${Model}Status")
    members = "\n".join(f'    {s.upper()} = "{s}"' for s in c.statuses)
    final = c.statuses[-1].upper()
    return c.t("""
        class $cls(str, Enum):
        $members

            @classmethod
            def choices(cls) -> list[tuple[str, str]]:
                return [(m.value, m.value.replace("_", " ").title()) for m in cls]

            @property
            def is_terminal(self) -> bool:
                return self is $cls.$final

            def can_move_to(self, other: "$cls") -> bool:
                order = list($cls)
                return order.index(other) >= order.index(self) and not self.is_terminal
        """, cls=cls, members=members, final=final)


def p_slugify(c: Ctx) -> str:
    c.imp("re", "unicodedata")
    name = c.name(c.pick(["slugify", "make_slug", "slug_for"]))
    c.const("SLUG_RE", 'SLUG_STRIP_RE = re.compile(r"[^a-z0-9]+")', "re")
    return fn(c, "def $name(text: str, max_length: int = $n) -> str:", c.doc(
        "Lower-case ASCII slug of ``text``, at most ``max_length`` characters.",
        "Turn a $label title into a URL-safe slug."), """
        normalized = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
        slug = SLUG_STRIP_RE.sub("-", normalized.lower()).strip("-")
        if len(slug) > max_length:
            slug = slug[:max_length].rsplit("-", 1)[0] or slug[:max_length]
        return slug
        """, name=name, n=str(c.pick([40, 50, 64, 80])))


def p_truncate(c: Ctx) -> str:
    name = c.name(c.pick(["truncate_words", "shorten", "ellipsize"]))
    return fn(c, "def $name(text: str, limit: int = $n, suffix: str = \"...\") -> str:", c.doc(
        "Cut ``text`` at a word boundary so that it fits in ``limit`` characters.",), """
        text = " ".join(text.split())
        if len(text) <= limit:
            return text
        cut = text[: max(0, limit - len(suffix))]
        if " " in cut:
            cut = cut.rsplit(" ", 1)[0]
        return cut.rstrip(",.;:") + suffix
        """, name=name, n=str(c.pick([60, 80, 120, 140, 200])))


def p_mask_email(c: Ctx) -> str:
    name = c.name("mask_email")
    return fn(c, "def $name(address: str) -> str:", c.doc("Hide most of the local part of an e-mail address for logs."), """
        local, _, domain = address.partition("@")
        if not domain:
            return "***"
        visible = local[:2] if len(local) > 4 else local[:1]
        return f"{visible}{'*' * max(3, len(local) - len(visible))}@{domain}"
        """, name=name)


def p_money(c: Ctx) -> str:
    c.imp("decimal:Decimal", "decimal:ROUND_HALF_UP")
    c.const("CENTS", 'CENTS = Decimal("0.01")', "decimal:Decimal")
    name = c.name(c.pick(["apply_tax", "gross_from_net", "with_vat"]))
    other = c.name(c.pick(["format_money", "display_amount", "money_label"]))
    return c.t("""
        def $name(net: Decimal, rate: Decimal) -> Decimal:
            if rate < 0:
                raise ValueError(f"negative tax rate: {rate}")
            return (net * (Decimal(1) + rate)).quantize(CENTS, rounding=ROUND_HALF_UP)


        def $other(amount: Decimal, currency: str = "$cur") -> str:
            sign = "-" if amount < 0 else ""
            whole, _, frac = f"{abs(amount).quantize(CENTS):f}".partition(".")
            groups = []
            while whole:
                groups.insert(0, whole[-3:])
                whole = whole[:-3]
            return f"{sign}{','.join(groups) or '0'}.{frac or '00'} {currency}"
        """, name=name, other=other, cur=c.pick(["EUR", "USD", "GBP", "CHF"]))


def p_split_evenly(c: Ctx) -> str:
    c.imp("decimal:Decimal")
    c.const("CENTS", 'CENTS = Decimal("0.01")', "decimal:Decimal")
    name = c.name(c.pick(["split_evenly", "allocate", "spread_amount"]))
    return fn(c, "def $name(total: Decimal, parts: int) -> list[Decimal]:", c.doc(
        "Split ``total`` into ``parts`` amounts that add up exactly, largest first.",), """
        if parts <= 0:
            raise ValueError("parts must be positive")
        base = (total / parts).quantize(CENTS, rounding="ROUND_DOWN")
        shares = [base] * parts
        remainder = total - base * parts
        i = 0
        while remainder > 0:
            shares[i % parts] += CENTS
            remainder -= CENTS
            i += 1
        return shares
        """, name=name)


def p_business_days(c: Ctx) -> str:
    c.imp("datetime:date", "datetime:timedelta")
    name = c.name(c.pick(["add_business_days", "business_day_after", "shift_working_days"]))
    return fn(c, "def $name(start: date, days: int, holidays: frozenset[date] = frozenset()) -> date:", c.doc(
        "The date ``days`` working days after ``start``, skipping weekends and holidays.",), """
        current = start
        step = 1 if days >= 0 else -1
        remaining = abs(days)
        while remaining:
            current += timedelta(days=step)
            if current.weekday() < 5 and current not in holidays:
                remaining -= 1
        return current
        """, name=name)


def p_week_range(c: Ctx) -> str:
    c.imp("datetime:date", "datetime:timedelta")
    name = c.name("week_bounds")
    other = c.name("month_bounds")
    return c.t("""
        def $name(day: date) -> tuple[date, date]:
            start = day - timedelta(days=day.weekday())
            return start, start + timedelta(days=6)


        def $other(day: date) -> tuple[date, date]:
            first = day.replace(day=1)
            following = (first + timedelta(days=32)).replace(day=1)
            return first, following - timedelta(days=1)
        """, name=name, other=other)


def p_parse_iso(c: Ctx) -> str:
    c.imp("datetime:datetime", "datetime:timezone")
    name = c.name(c.pick(["parse_timestamp", "parse_iso", "to_aware"]))
    return fn(c, "def $name(value: str | None) -> datetime | None:", c.doc(
        "Parse an ISO-8601 timestamp; naive values are taken as UTC.",), """
        if not value:
            return None
        value = value.strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed
        """, name=name)


def p_validators(c: Ctx) -> str:
    c.imp("re")
    c.const("EMAIL_RE", r'EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$$", re.IGNORECASE)', "re")
    c.const("POSTCODE_RE", r'POSTCODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9 -]{2,9}$$")', "re")
    a = c.name("validate_email")
    b = c.name("validate_postcode")
    d = c.name("validate_${ident}")
    return c.t("""
        def $a(value: str) -> str:
            value = value.strip()
            if not EMAIL_RE.match(value):
                raise ValueError(f"not an e-mail address: {value!r}")
            return value.lower()


        def $b(value: str) -> str:
            value = value.strip().upper()
            if not POSTCODE_RE.match(value):
                raise ValueError(f"invalid postcode: {value!r}")
            return value


        def $d(value: str) -> str:
            value = value.strip()
            if not value or len(value) > 64:
                raise ValueError("$ident must be 1-64 characters")
            if any(ch.isspace() for ch in value):
                raise ValueError("$ident must not contain spaces")
            return value
        """, a=a, b=b, d=d)


def p_luhn(c: Ctx) -> str:
    name = c.name(c.pick(["luhn_valid", "passes_luhn"]))
    return fn(c, "def $name(number: str) -> bool:", c.doc("Luhn checksum, as used by card numbers and some reference codes."), """
        digits = [int(ch) for ch in number if ch.isdigit()]
        if len(digits) < 2:
            return False
        checksum = 0
        for i, digit in enumerate(reversed(digits)):
            if i % 2:
                digit *= 2
                if digit > 9:
                    digit -= 9
            checksum += digit
        return checksum % 10 == 0
        """, name=name)


def p_csv_parse(c: Ctx) -> str:
    c.imp("csv", "io", "decimal:Decimal", "decimal:InvalidOperation", "typing:Iterator")
    name = c.name("parse_${model}_rows")
    return fn(c, "def $name(text: str) -> Iterator[tuple[int, dict[str, object]]]:", c.doc(
        "Rows of an uploaded $label CSV, numbered from 2 (after the header).",
        "Yield (line number, cleaned row) for each $label in a CSV export."), """
        reader = csv.DictReader(io.StringIO(text))
        missing = {"$ident", "$amount"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"missing columns: {', '.join(sorted(missing))}")
        for line_no, row in enumerate(reader, start=2):
            try:
                amount = Decimal(row["$amount"].replace(",", ""))
            except (InvalidOperation, AttributeError):
                raise ValueError(f"line {line_no}: bad $amount {row.get('$amount')!r}") from None
            yield line_no, {"$ident": row["$ident"].strip(), "$amount": amount, "status": row.get("status") or "$s0"}
        """, name=name)


def p_csv_write(c: Ctx) -> str:
    c.imp("csv", "io", "typing:Iterable", "typing:Mapping")
    name = c.name(c.pick(["rows_to_csv", "render_csv", "to_csv_text"]))
    return fn(c, "def $name(rows: Iterable[Mapping[str, object]], columns: list[str]) -> str:", c.doc(
        "CSV text with a header row; missing values become empty cells.",), """
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: "" if row.get(key) is None else row.get(key) for key in columns})
        return buffer.getvalue()
        """, name=name)


def p_chunked(c: Ctx) -> str:
    c.imp("itertools", "typing:Iterable", "typing:Iterator", "typing:TypeVar")
    c.const("T", 'T = TypeVar("T")', "typing:TypeVar")
    name = c.name(c.pick(["chunked", "batched", "in_groups"]))
    return fn(c, "def $name(items: Iterable[T], size: int) -> Iterator[list[T]]:", c.doc(
        "Successive lists of at most ``size`` items.",), """
        if size < 1:
            raise ValueError("size must be at least 1")
        iterator = iter(items)
        while True:
            block = list(itertools.islice(iterator, size))
            if not block:
                return
            yield block
        """, name=name)


def p_pagination(c: Ctx) -> str:
    c.imp("dataclasses:dataclass", "math")
    cls = c.name("PageWindow")
    return c.t("""
        @dataclass(frozen=True)
        class $cls:
            page: int
            per_page: int
            total: int

            @property
            def pages(self) -> int:
                return max(1, math.ceil(self.total / self.per_page))

            @property
            def offset(self) -> int:
                return (min(self.page, self.pages) - 1) * self.per_page

            @property
            def has_next(self) -> bool:
                return self.page < self.pages

            def neighbours(self, width: int = 2) -> list[int]:
                first = max(1, self.page - width)
                last = min(self.pages, self.page + width)
                return list(range(first, last + 1))

            @classmethod
            def from_params(cls, params: dict[str, str], total: int, default: int = $n) -> "$cls":
                try:
                    page = max(1, int(params.get("page", 1)))
                    per_page = min(200, max(1, int(params.get("per_page", default))))
                except (TypeError, ValueError):
                    page, per_page = 1, default
                return cls(page, per_page, total)
        """, cls=cls, n=str(c.pick([20, 25, 50, 100])))


def p_retry(c: Ctx) -> str:
    c.imp("functools", "random", "time", "typing:Callable", "typing:TypeVar")
    c.const("F", 'F = TypeVar("F", bound=Callable)', "typing:Callable", "typing:TypeVar")
    name = c.name(c.pick(["retry", "with_backoff", "retrying"]))
    log = c.logger()
    return c.t("""
        def $name(attempts: int = $n, base_delay: float = 0.2, exceptions: tuple[type[BaseException], ...] = (OSError,)):
            \"\"\"Retry the wrapped call with exponential backoff and jitter.\"\"\"

            def decorator(func: F) -> F:
                @functools.wraps(func)
                def wrapper(*args, **kwargs):
                    for attempt in range(1, attempts + 1):
                        try:
                            return func(*args, **kwargs)
                        except exceptions as exc:
                            if attempt == attempts:
                                raise
                            delay = base_delay * 2 ** (attempt - 1) * (1 + random.random())
                            $log.warning("%s failed (%s), retry %d in %.2fs", func.__name__, exc, attempt, delay)
                            time.sleep(delay)

                return wrapper  # type: ignore[return-value]

            return decorator
        """, name=name, n=str(c.pick([3, 4, 5])), log=log)


def p_http_client(c: Ctx) -> str:
    c.imp("requests", "typing:Any")
    c.const("API_BASE", 'API_BASE = os.environ.get("${MODEL}_API_BASE", "https://api.example.com/v1")', "os")
    c.const("API_TIMEOUT", "API_TIMEOUT = ($a, $b)".replace("$a", str(c.pick([2, 3, 5]))).replace("$b", str(c.pick([10, 15, 30]))))
    name = c.name("get_${model}_quote")
    other = c.name("send_${model}_event")
    return c.t("""
        def $name($ident: str, **params: Any) -> dict[str, Any]:
            response = requests.get(f"{API_BASE}/$models/{$ident}/quote", params=params, timeout=API_TIMEOUT)
            response.raise_for_status()
            return response.json()


        def $other(event: str, payload: dict[str, Any]) -> bool:
            response = requests.post(
                f"{API_BASE}/events",
                json={"type": f"$model.{event}", "data": payload},
                timeout=API_TIMEOUT,
            )
            if response.status_code >= 500:
                return False
            response.raise_for_status()
            return True
        """, name=name, other=other)


def p_feature_flags(c: Ctx) -> str:
    c.imp("hashlib")
    name = c.name(c.pick(["in_rollout", "bucket_enabled", "flag_on_for"]))
    return fn(c, "def $name(flag: str, subject_id: int | str, percent: int) -> bool:", c.doc(
        "Stable percentage rollout: the same subject always lands in the same bucket.",), """
        if percent <= 0:
            return False
        if percent >= 100:
            return True
        digest = hashlib.sha256(f"{flag}:{subject_id}".encode()).digest()
        bucket = int.from_bytes(digest[:4], "big") % 100
        return bucket < percent
        """, name=name)


def p_state_machine(c: Ctx) -> str:
    st = c.statuses
    pairs = ",\n".join(
        f'    "{a}": {{{", ".join(repr(b) for b in st[i + 1:])}}}' for i, a in enumerate(st)
    )
    c.const("TRANSITIONS", "${MODEL}_TRANSITIONS: dict[str, set[str]] = {\n" + pairs.replace("{}", "set()") + ",\n}")
    name = c.name("check_${model}_transition")
    exc = c.name("Invalid${Model}Transition")
    return c.t("""
        class $exc(ValueError):
            def __init__(self, current: str, target: str) -> None:
                super().__init__(f"$label cannot go from {current!r} to {target!r}")
                self.current = current
                self.target = target


        def $name(current: str, target: str) -> str:
            allowed = ${MODEL}_TRANSITIONS.get(current)
            if allowed is None:
                raise $exc(current, target)
            if target not in allowed:
                raise $exc(current, target)
            return target
        """, name=name, exc=exc)


def p_units(c: Ctx) -> str:
    c.const("UNITS", 'WEIGHT_UNITS = {"g": 1, "kg": 1000, "lb": 453.59237, "oz": 28.349523125}')
    name = c.name(c.pick(["to_grams", "weight_in_grams", "normalize_weight"]))
    return fn(c, "def $name(value: float, unit: str) -> int:", c.doc("Convert a weight to whole grams."), """
        try:
            factor = WEIGHT_UNITS[unit.lower().strip()]
        except KeyError:
            raise ValueError(f"unknown weight unit {unit!r}") from None
        return round(value * factor)
        """, name=name)


def p_template_text(c: Ctx) -> str:
    c.imp("string:Template")
    c.const("SUBJECT", 'SUBJECT_TEMPLATE = Template("Your $label $$$ident is now $$status")')
    name = c.name("render_${model}_subject")
    return fn(c, "def $name(values: dict[str, str]) -> str:", c.doc(
        "Subject line of the notification sent when a $label changes state.",), """
        safe = {key: str(value).replace("\\n", " ") for key, value in values.items()}
        return SUBJECT_TEMPLATE.safe_substitute(safe)[:150]
        """, name=name)


def p_normalize(c: Ctx) -> str:
    c.imp("unicodedata")
    name = c.name(c.pick(["normalize_name", "clean_display_name", "tidy_label"]))
    return fn(c, "def $name(raw: str) -> str:", c.doc("Collapse whitespace, strip control characters, title-case."), """
        cleaned = "".join(ch for ch in raw if unicodedata.category(ch)[0] != "C")
        words = cleaned.split()
        return " ".join(w if w.isupper() and len(w) <= 4 else w.capitalize() for w in words)
        """, name=name)


def p_stats(c: Ctx) -> str:
    c.imp("statistics", "typing:Sequence")
    name = c.name(c.pick(["describe", "summarize_numbers", "percentiles"]))
    return fn(c, "def $name(values: Sequence[float]) -> dict[str, float]:", c.doc(
        "Count, mean and a few percentiles of ``values`` (empty input gives zeros).",), """
        if not values:
            return {"count": 0, "mean": 0.0, "p50": 0.0, "p90": 0.0, "p99": 0.0}
        ordered = sorted(values)

        def pct(p: float) -> float:
            index = min(len(ordered) - 1, max(0, round(p * (len(ordered) - 1))))
            return float(ordered[index])

        return {
            "count": len(ordered),
            "mean": statistics.fmean(ordered),
            "p50": pct(0.50),
            "p90": pct(0.90),
            "p99": pct(0.99),
        }
        """, name=name)


def p_signing(c: Ctx) -> str:
    c.imp("hmac", "hashlib", "base64", "time")
    c.const("SIGNING_KEY", 'SIGNING_KEY = os.environ.get("WEBHOOK_SIGNING_KEY", "dev-only-key").encode()', "os")
    a = c.name("sign_payload")
    b = c.name("verify_signature")
    return c.t("""
        def $a(body: bytes, timestamp: int | None = None) -> str:
            timestamp = int(time.time()) if timestamp is None else timestamp
            mac = hmac.new(SIGNING_KEY, f"{timestamp}.".encode() + body, hashlib.sha256).digest()
            return f"t={timestamp},v1={base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


        def $b(body: bytes, header: str, tolerance: int = 300) -> bool:
            parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
            try:
                timestamp = int(parts["t"])
            except (KeyError, ValueError):
                return False
            if abs(time.time() - timestamp) > tolerance:
                return False
            return hmac.compare_digest($a(body, timestamp), header)
        """, a=a, b=b)


def p_constants(c: Ctx) -> str:
    st = c.statuses
    labels = "\n".join(f'    "{s}": "{s.replace("_", " ").capitalize()}",' for s in st)
    name = c.name("${MODEL}_STATUS_LABELS")
    return c.t("""
        $name = {
        $labels
        }
        DEFAULT_PAGE_SIZE = $n
        MAX_EXPORT_ROWS = $m
        ${MODEL}_REFERENCE_PREFIX = "$prefix"
        """, name=name, labels=labels, n=str(c.pick([20, 25, 50])), m=str(c.pick([10000, 50000, 100000])),
        prefix=c.vars["model"][:3].upper())


def p_small_helper(c: Ctx) -> str:
    """Short helpers, used to fill modules up to their target length."""
    choice = c.rng.randrange(6)
    if choice == 0:
        name = c.name("${model}_reference")
        return fn(c, "def $name(pk: int, year: int) -> str:", "", 'return f"${MODEL}-{year}-{pk:07d}"', name=name)
    if choice == 1:
        name = c.name("parse_bool")
        return fn(c, "def $name(value: object) -> bool:", "", """
            if isinstance(value, str):
                return value.strip().lower() in {"1", "true", "yes", "on"}
            return bool(value)
            """, name=name)
    if choice == 2:
        name = c.name("clamp")
        return fn(c, "def $name(value: float, low: float, high: float) -> float:", "", "return max(low, min(high, value))", name=name)
    if choice == 3:
        name = c.name("first_or_default")
        return fn(c, "def $name(items, default=None):", "", """
            for item in items:
                return item
            return default
            """, name=name)
    if choice == 4:
        name = c.name("percent_change")
        return fn(c, "def $name(before: float, after: float) -> float:", "", """
            if before == 0:
                return 0.0 if after == 0 else 100.0
            return round((after - before) / abs(before) * 100, 2)
            """, name=name)
    name = c.name("dedupe")
    return fn(c, "def $name(values: list[str]) -> list[str]:", "", """
        seen: set[str] = set()
        out = []
        for value in values:
            key = value.strip().lower()
            if key and key not in seen:
                seen.add(key)
                out.append(value.strip())
        return out
        """, name=name)


PLAIN = [
    (p_dataclass, 3), (p_enum, 2), (p_slugify, 2), (p_truncate, 2), (p_mask_email, 1), (p_money, 2),
    (p_split_evenly, 1), (p_business_days, 2), (p_week_range, 1), (p_parse_iso, 2), (p_validators, 2),
    (p_luhn, 1), (p_csv_parse, 2), (p_csv_write, 1), (p_chunked, 2), (p_pagination, 1), (p_retry, 1),
    (p_http_client, 2), (p_feature_flags, 1), (p_state_machine, 1), (p_units, 1), (p_template_text, 1),
    (p_normalize, 1), (p_stats, 1), (p_signing, 1), (p_constants, 1),
]


# ======================================================================================
# Django templates
# ======================================================================================
def _dj_model_imports(c: Ctx) -> None:
    c.imp("django.db:models", "decimal:Decimal")


def dj_queryset(c: Ctx) -> str:
    _dj_model_imports(c)
    c.imp("django.utils:timezone", "datetime:timedelta")
    cls = c.name("${Model}QuerySet")
    return c.t("""
        class $cls(models.QuerySet):
            def open(self):
                return self.exclude(status="$s_last")

            def recent(self, days: int = $n):
                return self.filter(created_at__gte=timezone.now() - timedelta(days=days))

            def with_$fk(self):
                return self.select_related("$fk")

            def for_$fk(self, ${fk}_id: int):
                return self.filter(${fk}_id=${fk}_id)
        """, cls=cls, n=str(c.pick([7, 14, 30, 90])))


def _amount_field(c: Ctx) -> str:
    if c.vars["amount"] in INT_AMOUNTS:
        return "models.PositiveIntegerField(default=0)"
    return 'models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))'


def dj_model(c: Ctx, main: bool = True) -> str:
    _dj_model_imports(c)
    st = c.statuses
    choices = ", ".join(f'("{s}", "{s.replace("_", " ").title()}")' for s in st)
    c.const("STATUS_CHOICES", f"STATUS_CHOICES = [{choices}]")
    methods = []
    if main:
        cls = c.vars["Model"]
        c.names.add(cls)
        manager = f"objects = {c.vars['Model']}QuerySet.as_manager()\n" if f"{c.vars['Model']}QuerySet" in c.names else ""
        fields = c.t("""
            $ident = models.CharField(max_length=64, unique=True)
            $fk = models.ForeignKey("$fk_app.$Fk", on_delete=models.PROTECT, related_name="$models")
            status = models.CharField(max_length=16, choices=STATUS_CHOICES, default="$s0", db_index=True)
            $amount = $afield
            $when = models.DateTimeField(null=True, blank=True)
            created_at = models.DateTimeField(auto_now_add=True)
            updated_at = models.DateTimeField(auto_now=True)
            """, afield=_amount_field(c))
        meta = c.t("""
            class Meta:
                ordering = ["-created_at"]
                indexes = [models.Index(fields=["status", "$when"])]
            """)
        str_ = c.t('''
            def __str__(self) -> str:
                return f"$Model {self.$ident}"
            ''')
        pool = [_m_is_open, _m_mark_done, _m_cache_key_refresh, _m_children_total, _m_replica_classmethod, _m_clean,
                _m_absolute_url]
        for m in c.rng.sample(pool, k=c.rng.randint(2, 5)):
            methods.append(m(c))
    else:
        free = [n for n in (c.t(x) for x in SECONDARY_NAMES) if n not in c.names]
        if not free:
            return dj_signal(c) if c.chance(0.5) else p_small_helper(c)
        cls = c.pick(free)
        c.names.add(cls)
        shape = cls[len(c.vars["Model"]):] if cls != c.vars["Child"] else "Line"
        related = c.vars["children"] if cls == c.vars["Child"] else plural(snake(cls))
        manager = ""
        fields, meta, str_, extra = _secondary_shape(c, shape, related)
        methods.extend(extra)
    body = fields + "\n" + manager + "\n" + meta + "\n\n" + str_
    for m in methods:
        body += "\n\n" + m
    return f"class {cls}(models.Model):\n" + textwrap.indent(body, "    ")


SECONDARY_NAMES = ["${Child}", "${Model}Note", "${Model}Event", "${Model}Snapshot", "${Model}Tag", "${Model}Attachment",
                   "${Model}Approval"]


def _secondary_shape(c: Ctx, shape: str, related: str) -> tuple[str, str, str, list[str]]:
    fk = c.t('$model = models.ForeignKey("$Model", on_delete=models.CASCADE, related_name="$related")', related=related)
    if shape == "Line":
        fields = fk + "\n" + c.t("""
            label = models.CharField(max_length=120, blank=True)
            quantity = models.PositiveIntegerField(default=1)
            unit_price = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
            created_at = models.DateTimeField(auto_now_add=True)
            """)
        meta = 'class Meta:\n    ordering = ["created_at"]'
        str_ = 'def __str__(self) -> str:\n    return f"{self.label} x{self.quantity}"'
        extra = [c.t("""
            @property
            def line_total(self) -> Decimal:
                return self.unit_price * self.quantity
            """)] if c.chance(0.6) else []
    elif shape == "Note":
        c.imp("django.conf:settings")
        fields = fk + "\n" + c.t("""
            author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
            body = models.TextField()
            internal = models.BooleanField(default=True)
            created_at = models.DateTimeField(auto_now_add=True)
            """)
        meta = 'class Meta:\n    ordering = ["-created_at"]'
        str_ = 'def __str__(self) -> str:\n    return self.body[:40]'
        extra = []
    elif shape == "Event":
        fields = fk + "\n" + c.t("""
            kind = models.CharField(max_length=32, db_index=True)
            payload = models.JSONField(default=dict, blank=True)
            occurred_at = models.DateTimeField(db_index=True)
            """)
        meta = 'class Meta:\n    ordering = ["occurred_at"]\n    get_latest_by = "occurred_at"'
        str_ = 'def __str__(self) -> str:\n    return f"{self.kind} @ {self.occurred_at:%Y-%m-%d %H:%M}"'
        extra = [c.t("""
            @classmethod
            def record(cls, $model, kind: str, **payload):
                return cls.objects.create($model=$model, kind=kind, payload=payload, occurred_at=timezone.now())
            """)]
        c.imp("django.utils:timezone")
    elif shape == "Snapshot":
        fields = fk + "\n" + c.t("""
            data = models.JSONField()
            taken_at = models.DateTimeField(auto_now_add=True)
            version = models.PositiveSmallIntegerField(default=1)
            """)
        meta = 'class Meta:\n    unique_together = [("$model", "version")]'.replace("$model", c.vars["model"])
        str_ = 'def __str__(self) -> str:\n    return f"v{self.version}"'
        extra = []
    elif shape == "Tag":
        fields = c.t("""
            $models = models.ManyToManyField("$Model", related_name="$related", blank=True)
            name = models.CharField(max_length=40, unique=True)
            slug = models.SlugField(max_length=40, unique=True)
            """, related=related)
        meta = 'class Meta:\n    ordering = ["name"]'
        str_ = 'def __str__(self) -> str:\n    return self.name'
        extra = []
    elif shape == "Attachment":
        fields = fk + "\n" + c.t("""
            file = models.FileField(upload_to="$app/%Y/%m/")
            content_type = models.CharField(max_length=100)
            size = models.PositiveIntegerField(default=0)
            uploaded_at = models.DateTimeField(auto_now_add=True)
            """)
        meta = 'class Meta:\n    ordering = ["-uploaded_at"]'
        str_ = 'def __str__(self) -> str:\n    return self.file.name'
        extra = [c.t("""
            @property
            def is_image(self) -> bool:
                return self.content_type.startswith("image/")
            """)]
    else:  # Approval
        c.imp("django.conf:settings")
        fields = fk + "\n" + c.t("""
            approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
            decision = models.CharField(max_length=10, choices=[("approve", "Approve"), ("reject", "Reject")])
            reason = models.TextField(blank=True)
            decided_at = models.DateTimeField(auto_now_add=True)
            """)
        meta = 'class Meta:\n    constraints = [models.UniqueConstraint(fields=["$model", "approver"], name="one_vote_per_approver")]'.replace("$model", c.vars["model"])
        str_ = 'def __str__(self) -> str:\n    return f"{self.decision} by {self.approver_id}"'
        extra = []
    return fields.rstrip("\n"), meta, str_, extra


def _m_is_open(c: Ctx) -> str:
    return c.t('''
        @property
        def is_open(self) -> bool:
            return self.status != "$s_last"
        ''')


def _m_mark_done(c: Ctx) -> str:
    c.imp("django.utils:timezone")
    return c.t('''
        def mark_$s_last(self, save: bool = True) -> None:
            self.status = "$s_last"
            self.updated_at = timezone.now()
            if save:
                self.save(update_fields=["status", "updated_at"])
        ''')


def _m_cache_key_refresh(c: Ctx) -> str:
    c.imp("django.core.cache:cache")
    if c.chance(0.5):  # flagged: no timeout
        setter = "cache.set(self.cache_key(), self.summary())"
    else:
        setter = f"cache.set(self.cache_key(), self.summary(), timeout={c.timeout()})"
    return c.t('''
        def cache_key(self) -> str:
            return f"$model:{self.pk}:summary"

        def summary(self) -> dict:
            return {"$ident": self.$ident, "status": self.status, "$amount": str(self.$amount)}

        def refresh_cached_summary(self) -> None:
            $setter
        ''', setter=setter)


def _m_children_total(c: Ctx) -> str:
    if c.chance(0.5):
        return c.t('''
            def items_total(self) -> Decimal:
                total = Decimal("0")
                for item in self.$children.all():
                    total += item.unit_price * item.quantity
                return total
            ''')
    return c.t('''
        def items_total(self) -> Decimal:
            result = self.$children.aggregate(total=models.Sum(models.F("unit_price") * models.F("quantity")))
            return result["total"] or Decimal("0")
        ''')


def _m_replica_classmethod(c: Ctx) -> str:
    c.imp("django.utils:timezone", "datetime:timedelta")
    return c.t('''
        @classmethod
        def stale_for_report(cls, days: int = 30):
            cutoff = timezone.now() - timedelta(days=days)
            return cls.objects.using("replica").filter(updated_at__lt=cutoff).exclude(status="$s_last")
        ''')


def _m_clean(c: Ctx) -> str:
    c.imp("django.core.exceptions:ValidationError")
    return c.t('''
        def clean(self) -> None:
            super().clean()
            if self.$amount is not None and self.$amount < 0:
                raise ValidationError({"$amount": "must not be negative"})
        ''')


def _m_absolute_url(c: Ctx) -> str:
    c.imp("django.urls:reverse")
    return c.t('''
        def get_absolute_url(self) -> str:
            return reverse("$app:$model-detail", args=[self.pk])
        ''')


def dj_signal(c: Ctx) -> str:
    c.imp("django.db.models.signals:post_save", "django.dispatch:receiver", "django.core.cache:cache")
    name = c.name("invalidate_${model}_cache")
    return c.t('''
        @receiver(post_save, sender="$app.$Model")
        def $name(sender, instance, **kwargs) -> None:
            cache.delete_many([f"$model:{instance.pk}:summary", f"$models:${fk}:{instance.${fk}_id}"])
        ''', name=name)


# -- views ------------------------------------------------------------------------------
def _view_imports(c: Ctx) -> None:
    c.imp("django.http:JsonResponse", "django.shortcuts:get_object_or_404")
    c.imp(f".models:{c.vars['Model']}")


def v_detail(c: Ctx) -> str:
    _view_imports(c)
    c.imp("django.contrib.auth.decorators:login_required")
    name = c.name("${model}_detail")
    return c.t('''
        @login_required
        def $name(request, pk: int):
            $model = get_object_or_404($Model.objects.select_related("$fk"), pk=pk)
            return JsonResponse(
                {
                    "id": $model.pk,
                    "$ident": $model.$ident,
                    "status": $model.status,
                    "$fk": str($model.$fk),
                }
            )
        ''', name=name)


def v_list_clean(c: Ctx) -> str:
    _view_imports(c)
    c.imp("django.core.paginator:Paginator")
    name = c.name("${model}_list")
    return c.t('''
        def $name(request):
            $models = (
                $Model.objects.filter(status=request.GET.get("status", "$s0"))
                .select_related("$fk")
                .only("id", "$ident", "status", "${fk}__id")
                .order_by("-created_at")
            )
            page = Paginator($models, $n).get_page(request.GET.get("page"))
            return JsonResponse(
                {
                    "results": [{"id": o.pk, "$ident": o.$ident, "$fk": o.${fk}_id} for o in page],
                    "has_next": page.has_next(),
                }
            )
        ''', name=name, n=str(c.pick([25, 50, 100])))


def v_list_n_plus_one(c: Ctx) -> str:
    _view_imports(c)
    name = c.name("${model}_export")
    return c.t('''
        def $name(request):
            rows = []
            for $model in $Model.objects.filter(status="$s1"):
                rows.append({"$ident": $model.$ident, "$fk": $model.$fk.name, "lines": $model.$children.count()})
            return JsonResponse({"rows": rows})
        ''', name=name)


def v_atomic_http(c: Ctx) -> str:
    """Flagged: a network call while the transaction holds row locks."""
    _view_imports(c)
    c.imp("django.db:transaction", "django.views.decorators.http:require_POST", "requests")
    c.const("WEBHOOK_URL", 'WEBHOOK_URL = os.environ.get("${MODEL}_WEBHOOK_URL", "https://hooks.example.com/$models")', "os")
    name = c.name("${model}_confirm")
    return c.t('''
        @require_POST
        def $name(request, pk: int):
            with transaction.atomic():
                $model = $Model.objects.select_for_update().get(pk=pk)
                $model.status = "$s1"
                $model.save(update_fields=["status"])
                requests.post(WEBHOOK_URL, json={"id": $model.pk, "status": $model.status}, timeout=10)
            return JsonResponse({"ok": True})
        ''', name=name)


def v_atomic_on_commit(c: Ctx) -> str:
    _view_imports(c)
    c.imp("django.db:transaction", "django.views.decorators.http:require_POST")
    c.imp(f".tasks:notify_{c.vars['model']}_changed")
    name = c.name("${model}_cancel")
    return c.t('''
        @require_POST
        def $name(request, pk: int):
            with transaction.atomic():
                $model = $Model.objects.select_for_update().get(pk=pk)
                if $model.status == "$s_last":
                    return JsonResponse({"error": "already $s_last"}, status=409)
                $model.status = "$s_last"
                $model.save(update_fields=["status"])
                transaction.on_commit(lambda: notify_${model}_changed.delay($model.pk))
            return JsonResponse({"ok": True})
        ''', name=name)


def v_cached(c: Ctx) -> str:
    _view_imports(c)
    c.imp("django.core.cache:cache")
    name = c.name("${model}_stats")
    if c.chance(0.55):
        store = "cache.set(key, payload)"
    else:
        store = f"cache.set(key, payload, timeout={c.timeout()})"
    return c.t('''
        def $name(request, ${fk}_id: int):
            key = f"$models:${fk}:{${fk}_id}"
            payload = cache.get(key)
            if payload is None:
                qs = $Model.objects.filter(${fk}_id=${fk}_id)
                payload = {
                    "count": qs.count(),
                    "open": qs.exclude(status="$s_last").count(),
                }
                $store
            return JsonResponse(payload)
        ''', name=name, store=store)


def v_raw_cursor(c: Ctx) -> str:
    _view_imports(c)
    c.imp("django.db:connection")
    name = c.name("${model}_daily_totals")
    if c.chance(0.5):  # flagged: released by hand, no try/finally
        body = c.t('''
            cursor = connection.cursor()
            cursor.execute(
                "SELECT date_trunc('day', created_at) AS day, count(*) FROM $table WHERE ${fk}_id = %s GROUP BY 1 ORDER BY 1",
                [${fk}_id],
            )
            rows = cursor.fetchall()
            cursor.close()
            ''')
    else:
        body = c.t('''
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT date_trunc('day', created_at) AS day, count(*) FROM $table WHERE ${fk}_id = %s GROUP BY 1 ORDER BY 1",
                    [${fk}_id],
                )
                rows = cursor.fetchall()
            ''')
    return f"def {name}(request, {c.vars['fk']}_id: int):\n" + textwrap.indent(body, "    ") + "\n" + \
        '    return JsonResponse({"days": [{"day": d.isoformat(), "count": n} for d, n in rows]})'


def v_replica_write(c: Ctx) -> str:
    """Flagged: row read from the replica, then written back."""
    _view_imports(c)
    c.imp("django.views.decorators.http:require_POST")
    name = c.name("${model}_touch")
    return c.t('''
        @require_POST
        def $name(request, pk: int):
            $model = $Model.objects.using("replica").get(pk=pk)
            $model.status = request.POST.get("status", "$s1")
            $model.save()
            return JsonResponse({"id": $model.pk, "status": $model.status})
        ''', name=name)


def v_class_based(c: Ctx) -> str:
    _view_imports(c)
    c.imp("django.views:View", "json")
    cls = c.name("${Model}ApiView")
    return c.t('''
        class $cls(View):
            http_method_names = ["get", "patch"]

            def get(self, request, pk: int):
                $model = get_object_or_404($Model, pk=pk)
                return JsonResponse({"id": $model.pk, "$ident": $model.$ident, "status": $model.status})

            def patch(self, request, pk: int):
                $model = get_object_or_404($Model, pk=pk)
                data = json.loads(request.body or b"{}")
                changed = []
                for attr in ("status", "$amount"):
                    if attr in data:
                        setattr($model, attr, data[attr])
                        changed.append(attr)
                if changed:
                    $model.save(update_fields=changed)
                return JsonResponse({"updated": changed})
        ''', cls=cls)


# -- services ---------------------------------------------------------------------------
def s_bulk_update(c: Ctx) -> str:
    c.imp(f".models:{c.vars['Model']}", "django.utils:timezone")
    name = c.name("close_stale_${models}")
    if c.chance(0.5):
        body = '''
            stale = list($Model.objects.filter(status="$s0", created_at__lt=cutoff))
            for $model in stale:
                $model.status = "$s_last"
                $model.save()
            return len(stale)
            '''
    else:
        body = '''
            stale = list($Model.objects.filter(status="$s0", created_at__lt=cutoff).only("id", "status"))
            for $model in stale:
                $model.status = "$s_last"
            $Model.objects.bulk_update(stale, ["status"], batch_size=500)
            return len(stale)
            '''
    return fn(c, "def $name(cutoff) -> int:", c.doc("Close ${labels} left in $s0 since before ``cutoff``."), body, name=name)


def s_loop_execute(c: Ctx) -> str:
    """Flagged when a statement runs once per row."""
    c.imp("django.db:connection")
    name = c.name("apply_${model}_adjustments")
    if c.chance(0.6):
        body = '''
            with connection.cursor() as cursor:
                for $model in $models:
                    cursor.execute(
                        "UPDATE $table SET $amount = $amount + %s WHERE id = %s",
                        [$model["delta"], $model["id"]],
                    )
            '''
    else:
        body = '''
            params = [($model["delta"], $model["id"]) for $model in $models]
            with connection.cursor() as cursor:
                cursor.executemany("UPDATE $table SET $amount = $amount + %s WHERE id = %s", params)
            '''
    return fn(c, "def $name($models: list[dict]) -> None:", c.doc("Apply amount corrections coming from the nightly reconciliation."),
              body, name=name)


def s_atomic_external(c: Ctx) -> str:
    c.imp(f".models:{c.vars['Model']}", "django.db:transaction", "requests")
    c.const("PROVIDER_URL", 'PROVIDER_URL = os.environ.get("PAYMENT_PROVIDER_URL", "https://pay.example.com")', "os")
    name = c.name("settle_${model}")
    log = c.logger()
    if c.chance(0.6):  # flagged
        body = '''
            with transaction.atomic():
                $model = $Model.objects.select_for_update().get(pk=${model}_id)
                response = requests.post(
                    f"{PROVIDER_URL}/charges",
                    json={"reference": $model.$ident, "amount": str($model.$amount)},
                    timeout=15,
                )
                response.raise_for_status()
                $model.status = "$s1"
                $model.save(update_fields=["status"])
            $log.info("settled %s", $model.$ident)
            return $model
            '''
    else:
        body = '''
            $model = $Model.objects.get(pk=${model}_id)
            response = requests.post(
                f"{PROVIDER_URL}/charges",
                json={"reference": $model.$ident, "amount": str($model.$amount)},
                timeout=15,
            )
            response.raise_for_status()
            with transaction.atomic():
                $Model.objects.filter(pk=${model}_id, status="$s0").update(status="$s1")
            $log.info("settled %s", $model.$ident)
            return $model
            '''
    return fn(c, "def $name(${model}_id: int):", c.doc("Charge the provider for one $label and record the result."), body,
              name=name, log=log)


def s_replica_feeds_write(c: Ctx) -> str:
    c.imp(f".models:{c.vars['Model']}")
    name = c.name("recount_${model}_${amount}")
    if c.chance(0.6):  # flagged: replica read drives a write
        body = '''
            $model = $Model.objects.using("replica").get(pk=${model}_id)
            $model.$amount = sum(line["$amount"] for line in lines)
            $model.save(update_fields=["$amount"])
            return $model.$amount
            '''
    else:
        body = '''
            expected = $Model.objects.using("replica").filter(pk=${model}_id).values_list("$amount", flat=True).first()
            new_value = sum(line["$amount"] for line in lines)
            if expected != new_value:
                $Model.objects.filter(pk=${model}_id).update($amount=new_value)
            return new_value
            '''
    return fn(c, "def $name(${model}_id: int, lines: list[dict]):", "", body, name=name)


def s_cache_helpers(c: Ctx) -> str:
    c.imp(f".models:{c.vars['Model']}", "django.core.cache:cache")
    name = c.name("cached_${model}_count")
    if c.chance(0.5):
        body = '''
            key = f"$models:count:{status}"
            value = cache.get(key)
            if value is None:
                value = $Model.objects.filter(status=status).count()
                cache.set(key, value)
            return value
            '''
    else:
        body = '''
            return cache.get_or_set(
                f"$models:count:{status}",
                lambda: $Model.objects.filter(status=status).count(),
                timeout=$t,
            )
            '''
    return fn(c, "def $name(status: str = \"$s0\") -> int:", "", body, name=name, t=c.timeout())


def s_f_expression(c: Ctx) -> str:
    c.imp(f".models:{c.vars['Model']}", "django.db.models:F")
    name = c.name("bump_${model}_${amount}")
    return fn(c, "def $name(${model}_id: int, delta) -> int:", c.doc("Atomic increment, no read-modify-write race."), """
        return $Model.objects.filter(pk=${model}_id).update($amount=F("$amount") + delta)
        """, name=name)


def s_select_for_update(c: Ctx) -> str:
    c.imp(f".models:{c.vars['Model']}", "django.db:transaction")
    name = c.name("reserve_${model}")
    return fn(c, "def $name(${model}_id: int) -> bool:", c.doc("Move a $label from $s0 to $s1, once."), """
        with transaction.atomic():
            $model = $Model.objects.select_for_update(skip_locked=True).filter(pk=${model}_id, status="$s0").first()
            if $model is None:
                return False
            $model.status = "$s1"
            $model.save(update_fields=["status"])
        return True
        """, name=name)


def s_prefetch_report(c: Ctx) -> str:
    c.imp(f".models:{c.vars['Model']}", "django.db.models:Count", "django.db.models:Sum")
    name = c.name("${model}_report_rows")
    return fn(c, "def $name(since):", c.doc("Aggregated rows for the weekly $label report."), """
        qs = (
            $Model.objects.using("replica")
            .filter(created_at__gte=since)
            .values("${fk}_id", "status")
            .annotate(n=Count("id"), total=Sum("$amount"))
            .order_by("${fk}_id", "status")
        )
        return list(qs)
        """, name=name)


# -- tasks ------------------------------------------------------------------------------
def _task_imports(c: Ctx) -> None:
    c.imp("celery:shared_task")


def t_notify(c: Ctx) -> str:
    _task_imports(c)
    c.imp(f".models:{c.vars['Model']}", "requests")
    name = f"notify_{c.vars['model']}_changed"
    if name in c.names:
        name = c.name(name)
    c.names.add(name)
    return c.t('''
        @shared_task(bind=True, max_retries=$n, default_retry_delay=30)
        def $name(self, ${model}_id: int) -> None:
            $model = $Model.objects.filter(pk=${model}_id).values("$ident", "status").first()
            if $model is None:
                return
            try:
                requests.post("https://hooks.example.com/$models", json=$model, timeout=10).raise_for_status()
            except requests.RequestException as exc:
                raise self.retry(exc=exc)
        ''', name=name, n=str(c.pick([3, 5, 8])))


def t_psycopg_never_closed(c: Ctx) -> str:
    _task_imports(c)
    c.imp("psycopg2")
    c.const("REPORTING_DSN", 'REPORTING_DSN = os.environ.get("REPORTING_DSN", "dbname=reporting")', "os")
    name = c.name("refresh_${model}_rollup")
    return c.t('''
        @shared_task
        def $name(day: str) -> int:
            conn = psycopg2.connect(REPORTING_DSN)
            cur = conn.cursor()
            cur.execute("DELETE FROM ${model}_daily WHERE day = %s", (day,))
            cur.execute(
                "INSERT INTO ${model}_daily (day, n, total) "
                "SELECT %s, count(*), sum($amount) FROM $table WHERE created_at::date = %s",
                (day, day),
            )
            conn.commit()
            return cur.rowcount
        ''', name=name)


def t_psycopg_hand_closed(c: Ctx) -> str:
    _task_imports(c)
    c.imp("psycopg2")
    c.const("REPORTING_DSN", 'REPORTING_DSN = os.environ.get("REPORTING_DSN", "dbname=reporting")', "os")
    name = c.name("export_${model}_totals")
    return c.t('''
        @shared_task
        def $name(since: str) -> list[tuple]:
            conn = psycopg2.connect(REPORTING_DSN)
            cur = conn.cursor()
            cur.execute("SELECT ${fk}_id, sum($amount) FROM $table WHERE created_at >= %s GROUP BY 1", (since,))
            rows = cur.fetchall()
            cur.close()
            conn.close()
            return rows
        ''', name=name)


def t_psycopg_clean(c: Ctx) -> str:
    _task_imports(c)
    c.imp("psycopg2", "contextlib:closing")
    c.const("REPORTING_DSN", 'REPORTING_DSN = os.environ.get("REPORTING_DSN", "dbname=reporting")', "os")
    name = c.name("purge_${model}_snapshots")
    return c.t('''
        @shared_task
        def $name(keep_days: int = $n) -> int:
            with closing(psycopg2.connect(REPORTING_DSN)) as conn:
                with conn, conn.cursor() as cur:
                    cur.execute(
                        "DELETE FROM ${model}_snapshot WHERE taken_at < now() - make_interval(days => %s)",
                        (keep_days,),
                    )
                    return cur.rowcount
        ''', name=name, n=str(c.pick([30, 60, 90, 180])))


def t_loop_cursor(c: Ctx) -> str:
    _task_imports(c)
    c.imp("django.db:connection", f".models:{c.vars['Model']}")
    name = c.name("sync_${model}_flags")
    if c.chance(0.6):
        body = '''
            $models = $Model.objects.filter(status="$s1").values_list("id", "$ident")
            with connection.cursor() as cursor:
                for o in $models:
                    cursor.execute("UPDATE $table SET flagged = true WHERE id = %s AND $ident = %s", [o[0], o[1]])
            '''
    else:
        body = '''
            ids = list($Model.objects.filter(status="$s1").values_list("id", flat=True))
            with connection.cursor() as cursor:
                cursor.execute("UPDATE $table SET flagged = true WHERE id = ANY(%s)", [ids])
            '''
    return "@shared_task\n" + fn(c, "def $name() -> None:", "", body, name=name)


def t_iterator(c: Ctx) -> str:
    _task_imports(c)
    c.imp(f".models:{c.vars['Model']}")
    name = c.name("reindex_${models}")
    log = c.logger()
    helper = ""
    if "index_document" not in c.names:
        c.names.add("index_document")
        helper = "\n\n\n" + c.t('''
            def index_document(index: str, doc_id: int, body: dict) -> None:
                $log.debug("index %s/%s: %s", index, doc_id, sorted(body))
            ''', log=log)
    return c.t('''
        @shared_task(acks_late=True)
        def $name(batch_size: int = 2000) -> int:
            count = 0
            for $model in $Model.objects.only("id", "$ident", "status").iterator(chunk_size=batch_size):
                index_document("$models", $model.pk, {"$ident": $model.$ident, "status": $model.status})
                count += 1
            $log.info("reindexed %d $labels", count)
            return count
        ''', name=name, log=log) + helper


def t_redis_keys(c: Ctx) -> str:
    _task_imports(c)
    c.imp("redis")
    c.const("redis_client", 'redis_client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))',
            "os", "redis")
    name = c.name("expire_${model}_carts")
    if c.chance(0.6):
        body = '''
            removed = 0
            for key in redis_client.keys("$model:cart:*"):
                if redis_client.ttl(key) == -1:
                    redis_client.delete(key)
                    removed += 1
            return removed
            '''
    else:
        body = '''
            removed = 0
            pipe = redis_client.pipeline(transaction=False)
            for key in redis_client.scan_iter(match="$model:cart:*", count=500):
                pipe.ttl(key)
                pipe.delete(key)
                removed += 1
            pipe.execute()
            return removed
            '''
    return "@shared_task\n" + fn(c, "def $name() -> int:", "", body, name=name)


# -- SQLAlchemy -------------------------------------------------------------------------
def _sa_base(c: Ctx) -> None:
    c.imp("sqlalchemy:create_engine", "sqlalchemy.orm:sessionmaker")
    c.const("ENGINE", 'engine = create_engine(os.environ.get("DATABASE_URL", "postgresql://localhost/shop"), pool_size=10, pool_pre_ping=True)', "os")
    c.const("SESSION", "Session = sessionmaker(bind=engine, expire_on_commit=False)")


def sa_models(c: Ctx) -> str:
    c.imp("sqlalchemy:String", "sqlalchemy:Numeric", "sqlalchemy:ForeignKey", "sqlalchemy:DateTime",
          "sqlalchemy.orm:DeclarativeBase", "sqlalchemy.orm:Mapped", "sqlalchemy.orm:mapped_column",
          "datetime:datetime", "decimal:Decimal")
    if "Base" not in c.names:
        c.names.add("Base")
        base = "class Base(DeclarativeBase):\n    pass\n\n\n"
    else:
        base = ""
    cls = c.name("${Model}Record")
    return base + c.t('''
        class $cls(Base):
            __tablename__ = "$table"

            id: Mapped[int] = mapped_column(primary_key=True)
            $ident: Mapped[str] = mapped_column(String(64), unique=True)
            ${fk}_id: Mapped[int] = mapped_column(ForeignKey("$fk_table.id"), index=True)
            status: Mapped[str] = mapped_column(String(16), default="$s0")
            $amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)
            created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=datetime.utcnow)

            def __repr__(self) -> str:
                return f"<$cls {self.$ident} {self.status}>"
        ''', cls=cls)


def sa_session_clean(c: Ctx) -> str:
    _sa_base(c)
    c.imp("sqlalchemy:select")
    name = c.name("find_${models}_by_${fk}")
    return fn(c, "def $name(${fk}_id: int, limit: int = 100) -> list[dict]:", "", """
        with Session() as session:
            rows = session.execute(
                select(${Model}Record.id, ${Model}Record.$ident, ${Model}Record.status)
                .where(${Model}Record.${fk}_id == ${fk}_id)
                .order_by(${Model}Record.created_at.desc())
                .limit(limit)
            ).all()
        return [dict(row._mapping) for row in rows]
        """, name=name)


def sa_session_by_hand(c: Ctx) -> str:
    _sa_base(c)
    name = c.name("archive_${model}")
    return fn(c, "def $name(${model}_id: int) -> None:", c.doc("Mark one $label as $s_last."), """
        session = Session()
        record = session.get(${Model}Record, ${model}_id)
        record.status = "$s_last"
        session.commit()
        session.close()
        """, name=name)


def sa_begin_clean(c: Ctx) -> str:
    _sa_base(c)
    c.imp("sqlalchemy:update")
    name = c.name("bulk_set_${model}_status")
    return fn(c, "def $name(ids: list[int], status: str) -> int:", "", """
        with Session.begin() as session:
            result = session.execute(
                update(${Model}Record).where(${Model}Record.id.in_(ids)).values(status=status)
            )
            return result.rowcount
        """, name=name)


def sa_engine_connect(c: Ctx) -> str:
    _sa_base(c)
    c.imp("sqlalchemy:text")
    name = c.name("count_${models}_by_status")
    if c.chance(0.55):  # flagged
        body = '''
            conn = engine.connect()
            result = conn.execute(text("SELECT status, count(*) FROM $table GROUP BY status"))
            counts = {status: n for status, n in result}
            conn.close()
            return counts
            '''
    else:
        body = '''
            with engine.connect() as conn:
                result = conn.execute(text("SELECT status, count(*) FROM $table GROUP BY status"))
                return {status: n for status, n in result}
            '''
    return fn(c, "def $name() -> dict[str, int]:", "", body, name=name)


def sa_loop_get(c: Ctx) -> str:
    _sa_base(c)
    c.imp("sqlalchemy:select")
    name = c.name("load_${models}")
    if c.chance(0.5):
        body = '''
            with Session() as session:
                return [session.get(${Model}Record, pk) for pk in ids]
            '''
    else:
        body = '''
            with Session() as session:
                found = session.scalars(select(${Model}Record).where(${Model}Record.id.in_(ids))).all()
                by_id = {r.id: r for r in found}
                return [by_id.get(pk) for pk in ids]
            '''
    return fn(c, "def $name(ids: list[int]) -> list:", "", body, name=name)


# -- psycopg2 pools / raw SQL ---------------------------------------------------------------
def pg_pool_base(c: Ctx) -> None:
    c.imp("psycopg2.pool:ThreadedConnectionPool")
    c.const("POOL", 'pg_pool = ThreadedConnectionPool(1, $n, os.environ.get("REPORTING_DSN", "dbname=reporting"))'
            .replace("$n", str(c.pick([5, 10, 20]))), "os")


def pg_pool_by_hand(c: Ctx) -> str:
    pg_pool_base(c)
    name = c.name("top_${models}")
    if c.chance(0.55):  # flagged
        body = '''
            conn = pg_pool.getconn()
            cur = conn.cursor()
            cur.execute("SELECT id, $ident, $amount FROM $table ORDER BY $amount DESC LIMIT %s", (limit,))
            rows = cur.fetchall()
            cur.close()
            pg_pool.putconn(conn)
            return rows
            '''
    else:
        body = '''
            conn = pg_pool.getconn()
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT id, $ident, $amount FROM $table ORDER BY $amount DESC LIMIT %s", (limit,))
                    return cur.fetchall()
            finally:
                pg_pool.putconn(conn)
            '''
    return fn(c, "def $name(limit: int = 20) -> list[tuple]:", "", body, name=name)


def pg_execute_values(c: Ctx) -> str:
    pg_pool_base(c)
    c.imp("psycopg2.extras:execute_values")
    name = c.name("store_${model}_metrics")
    return fn(c, "def $name(rows: list[tuple]) -> None:", c.doc("Insert metric rows in pages of 1000."), """
        conn = pg_pool.getconn()
        try:
            with conn, conn.cursor() as cur:
                execute_values(cur, "INSERT INTO ${model}_metric (${model}_id, name, value) VALUES %s", rows, page_size=1000)
        finally:
            pg_pool.putconn(conn)
        """, name=name)


def pg_loop_insert(c: Ctx) -> str:
    pg_pool_base(c)
    name = c.name("record_${model}_events")
    return fn(c, "def $name(events: list[dict]) -> None:", "", """
        conn = pg_pool.getconn()
        try:
            with conn, conn.cursor() as cur:
                for event in events:
                    cur.execute(
                        "INSERT INTO ${model}_event (${model}_id, kind, at) VALUES (%s, %s, now())",
                        (event["id"], event["kind"]),
                    )
        finally:
            pg_pool.putconn(conn)
        """, name=name)


# -- redis ------------------------------------------------------------------------------
def _redis(c: Ctx) -> None:
    c.imp("redis")
    c.const("redis_client", 'redis_client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))',
            "os", "redis")


def r_keys(c: Ctx) -> str:
    _redis(c)
    name = c.name("invalidate_${model}_pages")
    if c.chance(0.6):
        body = '''
            keys = redis_client.keys("$model:page:*")
            if keys:
                redis_client.delete(*keys)
            return len(keys)
            '''
    else:
        body = '''
            removed = 0
            for key in redis_client.scan_iter(match="$model:page:*", count=1000):
                removed += redis_client.unlink(key)
            return removed
            '''
    return fn(c, "def $name() -> int:", "", body, name=name)


def r_set(c: Ctx) -> str:
    _redis(c)
    c.imp("json")
    name = c.name("remember_${model}")
    if c.chance(0.5):
        store = 'redis_client.set(f"$model:{data[\'id\']}", json.dumps(data))'
    else:
        store = 'redis_client.set(f"$model:{data[\'id\']}", json.dumps(data), ex=$t)'
    return fn(c, "def $name(data: dict) -> None:", "", store, name=name, t=c.timeout())


def r_get_many(c: Ctx) -> str:
    _redis(c)
    c.imp("json")
    name = c.name("get_cached_${models}")
    if c.chance(0.5):
        body = '''
            out = {}
            for pk in ids:
                raw = redis_client.get(f"$model:{pk}")
                if raw is not None:
                    out[pk] = json.loads(raw)
            return out
            '''
    else:
        body = '''
            values = redis_client.mget([f"$model:{pk}" for pk in ids])
            return {pk: json.loads(raw) for pk, raw in zip(ids, values) if raw is not None}
            '''
    return fn(c, "def $name(ids: list[int]) -> dict[int, dict]:", "", body, name=name)


def r_rate_limit(c: Ctx) -> str:
    _redis(c)
    c.imp("time")
    name = c.name("allow_request")
    return fn(c, "def $name(client_id: str, limit: int = $n, window: int = 60) -> bool:", c.doc(
        "Fixed-window rate limit shared by every web worker."), """
        bucket = f"rl:{client_id}:{int(time.time()) // window}"
        pipe = redis_client.pipeline()
        pipe.incr(bucket)
        pipe.expire(bucket, window)
        count, _ = pipe.execute()
        return count <= limit
        """, name=name, n=str(c.pick([60, 100, 600])))


def r_lock(c: Ctx) -> str:
    _redis(c)
    name = c.name("with_${model}_lock")
    return fn(c, "def $name(${model}_id: int, func):", "", """
        with redis_client.lock(f"lock:$model:{${model}_id}", timeout=30, blocking_timeout=5):
            return func(${model}_id)
        """, name=name)


def dj_cache_no_timeout(c: Ctx) -> str:
    c.imp("django.core.cache:cache")
    name = c.name("store_${model}_preview")
    if c.chance(0.6):
        store = "cache.set(key, value)"
    else:
        store = f"cache.set(key, value, {c.timeout()})"
    return fn(c, "def $name(pk: int, value: dict) -> None:", "", f"""
        key = f"$model:preview:{{pk}}"
        {store}
        """, name=name)


# -- scripts ----------------------------------------------------------------------------
def sc_sqlite_script(c: Ctx) -> str:
    c.imp("sqlite3", "argparse", "csv", "sys")
    name = c.name("dump_${models}")
    if c.chance(0.5):
        body = '''
            conn = sqlite3.connect(path)
            rows = conn.execute("SELECT $ident, status, $amount FROM $table ORDER BY $ident").fetchall()
            writer = csv.writer(sys.stdout)
            writer.writerow(["$ident", "status", "$amount"])
            writer.writerows(rows)
            return len(rows)
            '''
    else:
        body = '''
            with contextlib.closing(sqlite3.connect(path)) as conn:
                rows = conn.execute("SELECT $ident, status, $amount FROM $table ORDER BY $ident").fetchall()
            writer = csv.writer(sys.stdout)
            writer.writerow(["$ident", "status", "$amount"])
            writer.writerows(rows)
            return len(rows)
            '''
        c.imp("contextlib")
    return fn(c, "def $name(path: str) -> int:", "", body, name=name)


def sc_main(c: Ctx) -> str:
    c.imp("argparse", "sys")
    dump = next((n for n in sorted(c.names) if n.startswith("dump_")), None)
    call = f"{dump}(args.path)" if dump else "0"
    return c.t('''
        def main(argv: list[str] | None = None) -> int:
            parser = argparse.ArgumentParser(description="Maintenance helpers for $labels.")
            parser.add_argument("path", help="database file or DSN")
            parser.add_argument("--dry-run", action="store_true")
            args = parser.parse_args(argv)
            count = $call
            print(f"{count} rows", file=sys.stderr)
            return 0


        if __name__ == "__main__":
            raise SystemExit(main())
        ''', call=call)


# ======================================================================================
# Module kinds: (file stem, templates and weights, opening templates, closing templates)
# ======================================================================================
KINDS: dict[str, dict] = {
    "models": dict(stem="models", first=[dj_queryset, dj_model],
                   pool=[(lambda c: dj_model(c, main=False), 4), (dj_signal, 1), (p_small_helper, 1), (p_dataclass, 1)]),
    "views": dict(stem="views", first=[],
                  pool=[(v_detail, 2), (v_list_clean, 2), (v_list_n_plus_one, 1), (v_atomic_http, 2), (v_atomic_on_commit, 2),
                        (v_cached, 2), (v_raw_cursor, 2), (v_replica_write, 1), (v_class_based, 2), (p_small_helper, 1),
                        (p_parse_iso, 1)]),
    "services": dict(stem="services", first=[],
                     pool=[(s_bulk_update, 2), (s_loop_execute, 2), (s_atomic_external, 2), (s_replica_feeds_write, 2),
                           (s_cache_helpers, 2), (s_f_expression, 2), (s_select_for_update, 2), (s_prefetch_report, 2),
                           (dj_cache_no_timeout, 1), (p_money, 1), (p_split_evenly, 1), (p_small_helper, 1)]),
    "tasks": dict(stem="tasks", first=[t_notify],
                  pool=[(t_psycopg_never_closed, 2), (t_psycopg_hand_closed, 2), (t_psycopg_clean, 3), (t_loop_cursor, 2),
                        (t_iterator, 2), (t_redis_keys, 2), (p_chunked, 1), (p_small_helper, 1)]),
    "repositories": dict(stem="repositories", first=[sa_models],
                         pool=[(sa_session_clean, 3), (sa_session_by_hand, 2), (sa_begin_clean, 2), (sa_engine_connect, 2),
                               (sa_loop_get, 2), (p_small_helper, 1), (p_dataclass, 1)]),
    "reporting": dict(stem="reporting", first=[],
                      pool=[(pg_pool_by_hand, 3), (pg_execute_values, 2), (pg_loop_insert, 2), (p_csv_write, 1), (p_stats, 1),
                            (p_week_range, 1), (p_small_helper, 1)]),
    "caching": dict(stem="caching", first=[],
                    pool=[(r_keys, 2), (r_set, 2), (r_get_many, 2), (r_rate_limit, 1), (r_lock, 1), (dj_cache_no_timeout, 2),
                          (p_small_helper, 1)]),
    "scripts": dict(stem="manage_${models}", first=[], last=[sc_main],
                    pool=[(sc_sqlite_script, 2), (p_csv_write, 1), (p_small_helper, 1), (p_parse_iso, 1)]),
}
# Plain module stems and the plain templates they prefer (all plain templates may appear).
PLAIN_STEMS = {
    "utils": [p_small_helper, p_chunked, p_retry, p_parse_iso],
    "text": [p_slugify, p_truncate, p_normalize, p_mask_email, p_template_text],
    "validators": [p_validators, p_luhn],
    "money": [p_money, p_split_evenly],
    "dates": [p_business_days, p_week_range, p_parse_iso],
    "schemas": [p_dataclass, p_enum],
    "constants": [p_constants, p_units],
    "importers": [p_csv_parse, p_csv_write],
    "pagination": [p_pagination, p_chunked],
    "clients": [p_http_client, p_retry, p_signing],
    "flags": [p_feature_flags],
    "states": [p_state_machine, p_enum],
    "metrics": [p_stats],
    "webhooks": [p_signing, p_http_client],
}
DB_KIND_WEIGHTS = [("models", 3), ("views", 4), ("services", 4), ("tasks", 3), ("repositories", 2), ("reporting", 1),
                   ("caching", 2)]
MODULE_DOCS = {
    "models": ["Data model of the $app app.", "Models and querysets for $labels."],
    "views": ["HTTP endpoints for $labels.", "Views of the $app app."],
    "services": ["Business operations on $labels.", "$Model workflows used by views and tasks."],
    "tasks": ["Background jobs for the $app app.", "Celery tasks: $label maintenance and notifications."],
    "repositories": ["SQLAlchemy access to the $app tables (used by the reporting service).",],
    "reporting": ["Reporting queries on the analytics Postgres.", "Raw SQL for $label dashboards."],
    "caching": ["Cache helpers for $labels.", "Redis-backed helpers: rate limits, locks and cached $labels."],
    "scripts": ["Operator script for $labels; run by hand, not imported.",],
    "plain": ["Helpers for $labels.", "Small utilities shared across the $app app.", "Pure functions, no I/O."],
}


def _weighted(rng: random.Random, pool: list, uses: dict | None = None) -> object:
    """Weighted choice; with ``uses``, templates already used in this module get
    much less likely, so that modules stay varied."""
    items = [p for p, _ in pool]
    uses = uses or {}
    weights = [0.0 if uses.get(p, 0) >= MAX_USES else w / (1 + 4 * uses.get(p, 0)) for p, w in pool]
    if not any(weights):
        return None
    return rng.choices(items, weights=weights, k=1)[0]


def render_module(c: Ctx, blocks: list[str], doc: str) -> str:
    future = "from __future__ import annotations\n\n"
    groups: dict[int, dict[str, set[str]]] = {0: {}, 1: {}, 2: {}}
    for module, name in c.imports:
        root = module.split(".")[0]
        group = 2 if module.startswith(".") else (0 if module in STDLIB or root in STDLIB else 1)
        groups[group].setdefault(module, set())
        if name:
            groups[group][module].add(name)
    sections = []
    for g in (0, 1, 2):
        lines = []
        plain = sorted(m for m, names in groups[g].items() if not names)
        for m in plain:
            lines.append(f"import {m}")
        for m in sorted(m for m, names in groups[g].items() if names):
            names = sorted(groups[g][m])
            line = f"from {m} import {', '.join(names)}"
            if len(line) > 100:
                line = f"from {m} import (\n" + "".join(f"    {n},\n" for n in names) + ")"
            lines.append(line)
        if lines:
            sections.append("\n".join(lines))
    header = f'"""{doc}"""\n' + future + "\n\n".join(sections) + "\n"
    consts = "\n".join(c.consts.values())
    # constants that import things (from .tasks import ...) read better right after the imports
    text = header + ("\n" + consts + "\n" if consts else "") + "\n\n" + "\n\n\n".join(blocks) + "\n"
    return text


def build_module(rng: random.Random, domain: dict, kind: str, stem_hint: str) -> str:
    c = Ctx(rng=rng, vars=domain_vars(domain), kind=kind, statuses=tuple(domain["statuses"]))
    target = rng.randint(MIN_LINES, MAX_LINES)
    blocks: list[str] = []
    if kind == "plain":
        preferred = PLAIN_STEMS[stem_hint]
        pool = [(t, 12) for t in preferred] + [(t, w) for t, w in PLAIN if t not in preferred]
        first, last = [], []
    else:
        spec = KINDS[kind]
        first, last = spec["first"], spec.get("last", [])
        listed = {t for t, _ in spec["pool"]}
        pool = spec["pool"] + [(t, 0.12) for t, _ in PLAIN if t not in listed]
    doc = Template(rng.choice(MODULE_DOCS[kind])).substitute(c.vars)
    for t in first:
        blocks.append(t(c))
    tail = [t(c) for t in last]

    def size(extra: list[str]) -> int:
        return render_module(c, blocks + extra + tail, doc).count("\n")

    attempts = 0
    uses: dict = {}
    while size([]) < target and attempts < 200:
        attempts += 1
        snapshot = (set(c.imports), dict(c.consts), set(c.names))
        template = _weighted(rng, pool, uses)
        if template is None:
            break
        uses[template] = uses.get(template, 0) + 1
        block = template(c)
        blocks.append(block)
        if size([]) > MAX_LINES:
            blocks.pop()
            c.imports, c.consts, c.names = snapshot[0], snapshot[1], snapshot[2]
            if size([]) >= MIN_LINES:
                break
            blocks.append(p_small_helper(c))
    while size([]) < MIN_LINES:
        blocks.append(p_small_helper(c))
    tail = [t(c) for t in last]  # again, now that the body exists (same length)
    return render_module(c, blocks + tail, doc)


# ======================================================================================
# Corpus layout
# ======================================================================================
def plan(files: int, rng: random.Random) -> list[tuple[str, str, str, dict]]:
    """(relative path, kind, stem hint, domain) for each file."""
    if files < 1:
        raise ValueError("--files must be at least 1")
    n_apps = max(1, round(files / 13))
    n_scripts = max(0, round(files * 0.02))
    modules = files - n_apps - n_scripts
    if modules < 0:
        n_apps, n_scripts, modules = min(files, 1), 0, files - min(files, 1)
    apps = []
    for i in range(n_apps):
        base = DOMAINS[i % len(DOMAINS)]
        d = dict(base)
        if i >= len(DOMAINS):
            d["app"] = f"{base['app']}_{APP_SUFFIXES[(i // len(DOMAINS) - 1) % len(APP_SUFFIXES)]}"
            if i >= len(DOMAINS) * (len(APP_SUFFIXES) + 1):
                d["app"] += str(i)
        apps.append(d)
    n_plain = round(modules * PLAIN_SHARE)
    kinds = ["plain"] * n_plain + [
        str(_weighted(rng, DB_KIND_WEIGHTS)) for _ in range(modules - n_plain)
    ]
    rng.shuffle(kinds)
    out: list[tuple[str, str, str, dict]] = []
    used: set[str] = set()
    for app in apps:
        out.append((f"shop/{app['app']}/__init__.py", "init", "", app))
    plain_stems = list(PLAIN_STEMS)
    for i, kind in enumerate(kinds):
        app = apps[i % len(apps)]
        if kind == "plain":
            stem = rng.choice(plain_stems)
        else:
            stem = Template(KINDS[kind]["stem"]).substitute(domain_vars(app))
        hint = stem
        path = f"shop/{app['app']}/{stem}.py"
        n = 2
        while path in used:
            path = f"shop/{app['app']}/{stem}_{rng.choice(['extra', 'admin', 'api', 'sync', 'bulk', 'v'])}{n}.py"
            n += 1
        used.add(path)
        out.append((path, kind, hint, app))
    for i in range(n_scripts):
        app = apps[i % len(apps)]
        path = f"scripts/manage_{plural(snake(app['Model']))}_{i}.py"
        out.append((path, "scripts", "", app))
    return out


def generate(out_dir: Path, files: int, seed: int) -> dict[str, int]:
    """Write the corpus; returns counts by kind."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        if not (out_dir / MARKER).exists():
            raise SystemExit(f"{out_dir} is not empty and was not made by this script; refusing to overwrite")
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    layout = plan(files, random.Random(f"layout:{seed}:{files}"))
    counts: dict[str, int] = {}
    for index, (rel, kind, hint, domain) in enumerate(layout):
        rng = random.Random(f"file:{seed}:{index}:{rel}")
        if kind == "init":
            text = f'"""The {domain["app"]} app."""\n'
        else:
            text = build_module(rng, domain, kind, hint)
            lines = text.count("\n")
            if not MIN_LINES <= lines <= MAX_LINES:
                raise AssertionError(f"{rel}: {lines} lines")
        try:
            compile(text, rel, "exec")
        except SyntaxError as exc:
            raise AssertionError(f"generated invalid Python in {rel}: {exc}\n{text}") from exc
        if kind in ("plain", "init"):
            bad = [w for w in DB_CACHE_WORDS if w in text]
            if bad:
                raise AssertionError(f"plain module {rel} mentions {bad}\n{text}")
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        counts[kind] = counts.get(kind, 0) + 1
    (out_dir / "pyproject.toml").write_text(
        '[project]\nname = "synthetic-shop"\nversion = "0.0.0"\n'
        f'# generated by scalelint bench/corpus.py, files={files}, seed={seed}\n',
        encoding="utf-8",
    )
    (out_dir / MARKER).write_text(f"files={files} seed={seed}\n", encoding="utf-8")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--files", type=int, default=500, help="number of .py files (default 500)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    counts = generate(args.out_dir, args.files, args.seed)
    total = sum(counts.values())
    detail = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
    print(f"wrote {total} files to {args.out_dir} ({detail})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
