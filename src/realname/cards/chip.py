"""What a chip (NFC, ISO/IEC 14443 type B) ID card reader returns, as JSON.

Our format, ``realname-chip/1`` (UTF-8 JSON, one object)::

    {
      "format": "realname-chip/1",
      "name": "张三",
      "sex": "男",                      # 男/女, male/female, or the GB/T 2261.1 code "1"/"2"
      "ethnicity": "汉",                # the name, or the 2-digit GB 3304 code "01" .. "56"
      "birth_date": "19950717",         # YYYYMMDD or ISO YYYY-MM-DD (YYYY.MM.DD also read)
      "address": "四川省成都市武侯区益州大道中段722号",
      "id_number": "513701199507176346",
      "issuing_authority": "成都市公安局武侯分局",
      "valid_from": "20100101",         # a date as above
      "valid_until": "20201212",        # a date, or 长期 for a long-term card
      "portrait": "/9j/4AAQ..."         # base64 of the JPEG, PNG or BMP portrait (optional)
    }

``name`` and ``id_number`` are required; the others may be absent, ``null`` or empty. With
``"format"`` given, only these keys are accepted (a misspelt key is refused, not ignored).

Without ``"format"``, the object is taken as a reader SDK's own answer: the common key
spellings are aliases (:data:`ALIASES`, matched ignoring case, ``_`` and ``-``: ``Name``,
``partyName``; ``Sex``, ``gender``; ``Nation``, ``folk``; ``Born``, ``birthday``; ``IDCardNo``,
``certNumber``; ``GrantDept``, ``signingOrganization``; ``UserLifeBegin``, ``effectedDate``;
``UserLifeEnd``, ``expiredDate``; ``PhotoBuffer``, ``Base64Photo``, ...; one period in
``validDate``/``UserLife`` such as ``2010.01.01-2020.12.12``); other keys are ignored and listed
in :attr:`ChipCard.ignored_keys`; an answer wrapped in ``data``/``result``/``card`` is unwrapped.
The portrait may be a ``data:image/...;base64,`` URI and wrapped over lines. The raw chip photo
(WLT, a proprietary compressed format) must first be decoded by the reader's SDK.

Values are canonicalised (:func:`realname.identity.identifiers.canonical_text`,
:func:`~realname.identity.identifiers.canonical_id_number`): NFKC, trimmed; an invisible or
control character (zero-width space, direction marks) is refused. Anything that does not follow
this is a :class:`~realname.errors.ChipDataError` (``CHIP_DATA_INVALID``) saying what is wrong.
The number's check character is not checked here: :func:`realname.cards.checks.check_fields`
reports it with the other cross-checks.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from realname.cards.checks import LONG_TERM, is_long_term, parse_date, parse_validity
from realname.cards.reading import FIELD_NAMES
from realname.errors import ChipDataError, IdNumberError
from realname.identity.identifiers import canonical_id_number, canonical_text

__all__ = [
    "ALIASES",
    "CHIP_FORMAT",
    "ETHNICITY_CODES",
    "ChipCard",
    "parse_chip_json",
]

CHIP_FORMAT = "realname-chip/1"
MAX_CHIP_BYTES = 2_000_000

#: GB 3304-1991: the 2-digit codes of the 56 ethnic groups, as their names are printed.
ETHNICITY_CODES: dict[str, str] = {
    "01": "汉",
    "02": "蒙古",
    "03": "回",
    "04": "藏",
    "05": "维吾尔",
    "06": "苗",
    "07": "彝",
    "08": "壮",
    "09": "布依",
    "10": "朝鲜",
    "11": "满",
    "12": "侗",
    "13": "瑶",
    "14": "白",
    "15": "土家",
    "16": "哈尼",
    "17": "哈萨克",
    "18": "傣",
    "19": "黎",
    "20": "傈僳",
    "21": "佤",
    "22": "畲",
    "23": "高山",
    "24": "拉祜",
    "25": "水",
    "26": "东乡",
    "27": "纳西",
    "28": "景颇",
    "29": "柯尔克孜",
    "30": "土",
    "31": "达斡尔",
    "32": "仫佬",
    "33": "羌",
    "34": "布朗",
    "35": "撒拉",
    "36": "毛南",
    "37": "仡佬",
    "38": "锡伯",
    "39": "阿昌",
    "40": "普米",
    "41": "塔吉克",
    "42": "怒",
    "43": "乌孜别克",
    "44": "俄罗斯",
    "45": "鄂温克",
    "46": "德昂",
    "47": "保安",
    "48": "裕固",
    "49": "京",
    "50": "塔塔尔",
    "51": "独龙",
    "52": "鄂伦春",
    "53": "赫哲",
    "54": "门巴",
    "55": "珞巴",
    "56": "基诺",
}

_SEX_CODES = {"1": "男", "2": "女", "男": "男", "女": "女", "男性": "男", "女性": "女"}
_SEX_WORDS = {"male": "男", "m": "男", "female": "女", "f": "女"}

_PORTRAIT = "portrait"
_PERIOD = "validity"  # an SDK's one-field period, split into valid_from and valid_until

#: SDK key spellings, lower case without ``_`` and ``-``, by our field name.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "partyname", "cnname", "xm"),
    "sex": ("sex", "gender", "sexcode", "xb"),
    "ethnicity": ("ethnicity", "nation", "folk", "nationality", "nationcode", "mz"),
    "birth_date": ("birthdate", "born", "birth", "birthday", "csrq"),
    "address": ("address", "addr", "zz"),
    "id_number": (
        "idnumber",
        "idcardno",
        "cardno",
        "certnumber",
        "idnum",
        "idno",
        "certno",
        "sfzh",
    ),
    "issuing_authority": (
        "issuingauthority",
        "grantdept",
        "police",
        "signingorganization",
        "issuer",
        "qfjg",
    ),
    "valid_from": ("validfrom", "userlifebegin", "effecteddate", "validstart", "startdate"),
    "valid_until": ("validuntil", "userlifeend", "expireddate", "validend", "enddate"),
    _PORTRAIT: ("portrait", "photobuffer", "photo", "base64photo", "picture", "image"),
    _PERIOD: ("validdate", "userlife", "validperiod", "validityperiod", "validity"),
}
_BY_ALIAS = {alias: name for name, spellings in ALIASES.items() for alias in spellings}
_WRAPPERS = ("data", "result", "card", "idcardinfo", "info")
_MAX_LENGTH = {"name": 64, "ethnicity": 16, "address": 128, "issuing_authority": 64}
_DATE_FIELDS = ("birth_date", "valid_from", "valid_until")
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM")
_DATA_URI = re.compile(r"data:image/[a-z.+-]+;base64,", re.IGNORECASE)
_REQUIRED = ("name", "id_number")
_STRICT_KEYS = frozenset({*FIELD_NAMES, _PORTRAIT})
_MAX_DATE_LENGTH = 32


@dataclass(frozen=True, slots=True)
class ChipCard:
    """A chip reader's answer: ``fields`` in canonical text (keys from
    :data:`~realname.cards.reading.FIELD_NAMES`, those given), the decoded ``portrait`` (empty
    when none was given), ``source_format`` (``realname-chip/1``, or ``sdk`` for a reader SDK's
    own keys) and the SDK keys that were ignored."""

    fields: dict[str, str]
    portrait: bytes = field(default=b"", repr=False)
    source_format: str = CHIP_FORMAT
    ignored_keys: tuple[str, ...] = ()


def _refuse_constant(name: str) -> Any:
    raise ChipDataError(f"chip data holds {name}, which is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ChipDataError(f"chip data gives the key {key!r} twice")
        out[key] = value
    return out


def _load(data: bytes | str | Mapping[str, Any], max_bytes: int) -> Mapping[str, Any]:
    if isinstance(data, Mapping):
        return data
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise ChipDataError(f"chip data is {len(raw)} bytes, over the limit of {max_bytes}")
    try:
        text = raw.decode("utf-8-sig")
        loaded = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise ChipDataError("chip data is not UTF-8 text") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ChipDataError(f"chip data is not valid JSON: {exc}") from None
    if not isinstance(loaded, dict):
        raise ChipDataError(f"chip data must be a JSON object, not {type(loaded).__name__}")
    return loaded


def _key(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


def _unwrap(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """An SDK answer with the card inside ``data``/``result``/...: the inner object."""
    if any(_key(str(k)) in _BY_ALIAS for k in obj):
        return obj
    for k, v in obj.items():
        if _key(str(k)) in _WRAPPERS and isinstance(v, Mapping):
            return v
    return obj


def _as_text(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ChipDataError(f"the chip's {name} must be text, not {type(value).__name__}")
    return str(value)


def _collect(obj: Mapping[str, Any], strict: bool) -> tuple[dict[str, str], tuple[str, ...]]:
    """Our field names to the raw text given, and the keys ignored."""
    found: dict[str, str] = {}
    ignored: list[str] = []
    for key, value in obj.items():
        if key == "format":
            continue
        name = (key if key in _STRICT_KEYS else None) if strict else _BY_ALIAS.get(_key(str(key)))
        if name is None:
            if strict:
                raise ChipDataError(f"unknown key {key!r} in {CHIP_FORMAT} chip data")
            ignored.append(str(key))
            continue
        if value is None:
            continue
        text = _as_text(name, value)
        if name in found and found[name] != text:
            raise ChipDataError(f"chip data gives {name} twice, differently (key {key!r})")
        found[name] = text
    return found, tuple(ignored)


def _sex(text: str) -> str:
    value = text.strip()
    sex = _SEX_CODES.get(value) or _SEX_WORDS.get(value.lower())
    if sex is None:
        raise ChipDataError(f"the chip's sex {value!r} is none of 男/女, male/female, 1/2")
    return sex


def _ethnicity(text: str) -> str:
    value = canonical_text(
        text, "the chip's ethnicity", max_length=_MAX_LENGTH["ethnicity"], error=ChipDataError
    )
    if value.isdigit():
        code = value.zfill(2)
        if code not in ETHNICITY_CODES:
            raise ChipDataError(f"the chip's ethnicity code {value!r} is not a GB 3304 code")
        return ETHNICITY_CODES[code]
    stem = value.removesuffix("族")
    return stem if stem in ETHNICITY_CODES.values() else value


def _date_field(name: str, text: str) -> str:
    value = canonical_text(
        text, f"the chip's {name}", max_length=_MAX_DATE_LENGTH, error=ChipDataError
    )
    if name == "valid_until" and is_long_term(value):
        return LONG_TERM
    parsed = parse_date(value)
    if parsed is None:
        raise ChipDataError(f"the chip's {name} {value!r} is not a date (YYYYMMDD or ISO)")
    return parsed.isoformat()


def _canonical(name: str, text: str) -> str:
    if name == "id_number":
        try:
            return canonical_id_number(text)
        except IdNumberError as exc:
            raise ChipDataError(f"the chip's id_number: {exc}") from None
    if name == "sex":
        return _sex(text)
    if name == "ethnicity":
        return _ethnicity(text)
    if name in _DATE_FIELDS:
        return _date_field(name, text)
    return canonical_text(
        text, f"the chip's {name}", max_length=_MAX_LENGTH[name], error=ChipDataError
    )


def _portrait(text: str) -> bytes:
    body = "".join(_DATA_URI.sub("", text.strip(), count=1).split())
    if not body:
        return b""
    altchars = b"-_" if ("-" in body or "_" in body) else None
    try:
        decoded = base64.b64decode(body + "=" * (-len(body) % 4), altchars, validate=True)
    except (binascii.Error, ValueError):
        raise ChipDataError("the chip's portrait is not valid base64") from None
    if not decoded.startswith(_IMAGE_MAGIC):
        raise ChipDataError(
            "the chip's portrait is not a JPEG, PNG or BMP image (a raw WLT chip photo must "
            "be decoded by the reader's SDK first)"
        )
    return decoded


def _split_period(found: dict[str, str]) -> None:
    period = found.pop(_PERIOD, "")
    if not period.strip():
        return
    parsed = parse_validity(period)
    if parsed is None:
        raise ChipDataError(f"the chip's validity period {period!r} is not from-until dates")
    for name, value in zip(("valid_from", "valid_until"), parsed, strict=True):
        given = found.get(name, "").strip()
        if given and _date_field(name, given) != value:
            raise ChipDataError(f"the chip's validity period disagrees with its {name}")
        found[name] = value


def parse_chip_json(
    data: bytes | str | Mapping[str, Any], *, max_bytes: int = MAX_CHIP_BYTES
) -> ChipCard:
    """A chip reader's answer (JSON text, bytes or an already decoded object) in canonical form,
    or :class:`~realname.errors.ChipDataError`. See the module docstring for the format."""
    obj = _load(data, max_bytes)
    declared = obj.get("format")
    if declared is not None and declared != CHIP_FORMAT:
        raise ChipDataError(f"unknown chip data format {declared!r}; expected {CHIP_FORMAT!r}")
    strict = declared is not None
    found, ignored = _collect(obj if strict else _unwrap(obj), strict)
    portrait_text = found.pop(_PORTRAIT, "")
    if len(portrait_text) > max_bytes:
        raise ChipDataError(f"the chip's portrait is over the limit of {max_bytes} bytes")
    portrait = _portrait(portrait_text)
    _split_period(found)
    fields = {n: _canonical(n, found[n]) for n in FIELD_NAMES if found.get(n, "").strip()}
    missing = [n for n in _REQUIRED if n not in fields]
    if missing:
        raise ChipDataError(f"chip data lacks the required {' and '.join(missing)}")
    return ChipCard(fields, portrait, CHIP_FORMAT if strict else "sdk", ignored)
