#!/usr/bin/env python3
"""kubetest: a faithful-enough test Kubernetes API server (standard library only).

It speaks the subset of the kube-apiserver REST API that oamlua and stock
kubectl 1.32 use: discovery (legacy and aggregated), /version, a minimal
OpenAPI v3, CRUD + watch on built-in kinds and on CRD-defined kinds,
server-side apply with managedFields and conflicts, merge/JSON/strategic
patches, deletion with garbage collection, /status subresources, Status
error bodies as the real server writes them, TLS with bearer tokens and
client certificates, and a /_test/ side channel for fault injection.

See README.md beside this file.  Listens on 127.0.0.1 only.
"""

import argparse
import base64
import copy
import csv
import datetime
import hashlib
import http.server
import json
import marshal
import os
import random
import re
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from collections import deque
from http import HTTPStatus

SERVER_MINOR = "32"
LISTEN_HOST = "127.0.0.1"

# --------------------------------------------------------------------------
# small utilities
# --------------------------------------------------------------------------


_now = (None, "")
_http_date = (None, "")


def audit_id():
    """A random version-4 UUID for the Audit-Id header, without uuid4's
    os.urandom call and UUID object (the real server makes one per reply)."""
    r = random.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48) | (0x4000 << 64) | (0x8000 << 48)
    h = "%032x" % r
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def now_ts():
    # A write asks several times and the text changes once a second: format
    # it once per second (one tuple, so threads never see a torn pair).
    global _now
    t = int(time.time())
    if t != _now[0]:
        _now = (t, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)))
    return _now[1]


_ts_cache = {}


def parse_ts(s):
    # strptime is slow and every managedFields sort parses the same few
    # second-resolution stamps: remember them (bounded).
    t = _ts_cache.get(s)
    if t is not None:
        return t
    try:
        t = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except Exception:
        return time.time()
    if len(_ts_cache) > 4096:
        _ts_cache.clear()
    _ts_cache[s] = t
    return t


def jdump(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def dcopy(obj):
    # A marshal round trip copies JSON-like data (dicts, lists, scalars, and
    # the sets of tuples in managedFields bookkeeping) about 3x faster than
    # copy.deepcopy, which is most of the CPU of an apply; anything marshal
    # does not know (a sentinel object, a dict subclass) takes the slow path.
    try:
        return marshal.loads(marshal.dumps(obj))
    except ValueError:
        return copy.deepcopy(obj)


def go_quote(s):
    """Go's %q for a string (close enough: JSON escaping)."""
    return json.dumps(s, ensure_ascii=False)


def go_repr(v):
    """Render a value the way field.Invalid does in 1.32 (roughly %#v)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return go_quote(v)
    if isinstance(v, dict):
        if all(isinstance(x, str) for x in v.values()):
            return "map[string]string{" + ", ".join(
                "%s:%s" % (go_quote(k), go_quote(v[k])) for k in sorted(v)) + "}"
        return "map[string]interface {}{" + ", ".join(
            "%s:%s" % (go_quote(k), go_repr(v[k])) for k in sorted(v)) + "}"
    if isinstance(v, list):
        if all(isinstance(x, str) for x in v):
            return "[]string{" + ", ".join(go_quote(x) for x in v) + "}"
        return "[]interface {}{" + ", ".join(go_repr(x) for x in v) + "}"
    return str(v)


def go_selector_repr(sel):
    sel = sel or {}
    ml = sel.get("matchLabels")
    me = sel.get("matchExpressions")
    mls = "map[string]string(nil)" if ml is None else go_repr(ml)
    if me is None:
        mes = "[]v1.LabelSelectorRequirement(nil)"
    else:
        mes = "[]v1.LabelSelectorRequirement{" + ", ".join(
            "v1.LabelSelectorRequirement{Key:%s, Operator:%s, Values:%s}" % (
                go_quote(e.get("key", "")), go_quote(e.get("operator", "")),
                go_repr(e.get("values")) if e.get("values") is not None else "[]string(nil)")
            for e in me) + "}"
    return "v1.LabelSelector{MatchLabels:%s, MatchExpressions:%s}" % (mls, mes)


def strip_nulls(v):
    """The real server round-trips through Go types: JSON nulls vanish.
    Returns fresh dicts and lists throughout, so it doubles as a deep copy.
    (Scalars are not recursed into: most values are, and calls cost.)"""
    if isinstance(v, dict):
        return {k: strip_nulls(x) if isinstance(x, (dict, list)) else x for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [strip_nulls(x) if isinstance(x, (dict, list)) else x for x in v]
    return v


def has_nulls(v):
    """Would strip_nulls change v? (A walk without copying.)"""
    if isinstance(v, dict):
        for x in v.values():
            if x is None or (isinstance(x, (dict, list)) and has_nulls(x)):
                return True
    elif isinstance(v, list):
        for x in v:
            if isinstance(x, (dict, list)) and has_nulls(x):
                return True
    return False


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class ApiError(Exception):
    """An error that becomes a metav1.Status reply."""

    def __init__(self, code, reason, message, details=None, headers=None, raw=None):
        Exception.__init__(self, message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}
        self.raw = raw  # (content_type, bytes) to send instead of a Status

    def status(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": self.message}
        if self.reason:
            st["reason"] = self.reason
        if self.details is not None:
            st["details"] = omit_empty(self.details)
        st["code"] = self.code
        return st


def omit_empty(details):
    """metav1.StatusDetails / StatusCause fields are all omitempty."""
    out = {}
    for k, v in details.items():
        if k == "causes" and isinstance(v, list):
            v = [{ck: cv for ck, cv in c.items() if cv not in ("", None)} for c in v]
        if v in ("", None, []) or (k == "retryAfterSeconds" and v == 0):
            continue
        out[k] = v
    return out


def qualified_resource(res):
    return res.resource if not res.group else "%s.%s" % (res.resource, res.group)


def qualified_kind(res):
    return res.kind if not res.group else "%s.%s" % (res.kind, res.group)


def err_not_found(res, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (qualified_resource(res), name),
                    {"name": name, "group": res.group, "kind": res.resource})


def err_ns_not_found(ns):
    return ApiError(404, "NotFound", 'namespaces "%s" not found' % ns,
                    {"name": ns, "kind": "namespaces"})


def err_already_exists(res, name):
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (qualified_resource(res), name),
                    {"name": name, "group": res.group, "kind": res.resource})


def err_conflict_modified(res, name):
    return ApiError(409, "Conflict",
                    'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                    'please apply your changes to the latest version and try again'
                    % (qualified_resource(res) if res.group else res.resource, name),
                    {"name": name, "group": res.group, "kind": res.resource})


def err_bad_request(msg):
    return ApiError(400, "BadRequest", msg)


def err_internal(msg):
    return ApiError(500, "InternalError", "Internal error occurred: %s" % msg,
                    {"causes": [{"message": msg}]})


# --------------------------------------------------------------------------
# field errors (k8s.io/apimachinery/pkg/util/validation/field)
# --------------------------------------------------------------------------

_OMIT = object()


class FieldError(object):
    TYPES = {
        "Required": ("FieldValueRequired", "Required value"),
        "Invalid": ("FieldValueInvalid", "Invalid value"),
        "NotSupported": ("FieldValueNotSupported", "Unsupported value"),
        "Forbidden": ("FieldValueForbidden", "Forbidden"),
        "TooLong": ("FieldValueTooLong", "Too long"),
        "TooMany": ("FieldValueTooMany", "Too many"),
        "Duplicate": ("FieldValueDuplicate", "Duplicate value"),
        "NotFound": ("FieldValueNotFound", "Not found"),
        "TypeInvalid": ("FieldValueTypeInvalid", "Invalid value"),
    }

    def __init__(self, etype, field, value=_OMIT, detail="", raw_value=None):
        self.etype = etype
        self.field = field
        self.value = value
        self.detail = detail
        self.raw_value = raw_value  # pre-rendered value

    def body(self):
        reason, text = self.TYPES[self.etype]
        if self.etype in ("Required", "Forbidden", "TooLong") or (
                self.value is _OMIT and self.raw_value is None):
            s = text
        else:
            s = "%s: %s" % (text, self.raw_value if self.raw_value is not None else go_repr(self.value))
        if self.detail:
            s += ": " + self.detail
        return s

    def cause(self):
        return {"reason": self.TYPES[self.etype][0], "message": self.body(), "field": self.field}

    def text(self):
        return "%s: %s" % (self.field, self.body()) if self.field else self.body()


def f_required(field, detail=""):
    return FieldError("Required", field, detail=detail)


def f_invalid(field, value, detail="", raw=None):
    return FieldError("Invalid", field, value, detail, raw_value=raw)


def f_forbidden(field, detail):
    return FieldError("Forbidden", field, detail=detail)


def f_duplicate(field, value):
    return FieldError("Duplicate", field, value)


def f_not_supported(field, value, supported):
    return FieldError("NotSupported", field, value,
                      "supported values: " + ", ".join(go_quote(s) for s in supported))


def f_too_long(field, n):
    return FieldError("TooLong", field, detail="may not be more than %d bytes" % n)


def err_invalid(kind_q, name, group, kind, errs):
    # dedupe while keeping order, like ToAggregate
    seen, uniq = set(), []
    for e in errs:
        t = e.text()
        if t not in seen:
            seen.add(t)
            uniq.append(e)
    if len(uniq) == 1:
        agg = uniq[0].text()
    else:
        agg = "[" + ", ".join(e.text() for e in uniq) + "]"
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (kind_q, name, agg),
                    {"name": name, "group": group, "kind": kind,
                     "causes": [e.cause() for e in uniq]})


# --------------------------------------------------------------------------
# name validation (k8s.io/apimachinery/pkg/util/validation)
# --------------------------------------------------------------------------

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + QNAME_FMT + ")?"
CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"


def regex_error(msg, fmt, *examples):
    if not examples:
        return msg + " (regex used for validation is '" + fmt + "')"
    msg += " (e.g. "
    for i, ex in enumerate(examples):
        if i > 0:
            msg += " or "
        msg += "'" + ex + "', "
    return msg + "regex used for validation is '" + fmt + "')"


def _per_string(fn):
    """Remembers a string check's messages: every object repeats the same
    label keys, values and names, and each check runs regexes."""
    cache = {}

    def check(v):
        if type(v) is not str:
            return fn(v)
        r = cache.get(v)
        if r is None:
            if len(cache) >= 20000:
                cache.clear()
            r = cache[v] = tuple(fn(v))
        return list(r)
    check.__name__ = fn.__name__
    check.__doc__ = fn.__doc__
    return check


def max_len_error(n):
    return "must be no more than %d characters" % n


@_per_string
def is_dns1123_label(v):
    errs = []
    if len(v) > 63:
        errs.append(max_len_error(63))
    if not re.fullmatch(DNS1123_LABEL_FMT, v):
        if re.fullmatch(DNS1123_SUBDOMAIN_FMT, v):
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                "and must start and end with an alphanumeric character", DNS1123_LABEL_FMT,
                "my-name", "123-abc"))
    return errs


@_per_string
def is_dns1123_subdomain(v):
    errs = []
    if len(v) > 253:
        errs.append(max_len_error(253))
    if not re.fullmatch(DNS1123_SUBDOMAIN_FMT, v):
        errs.append(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
            "and must start and end with an alphanumeric character", DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


@_per_string
def is_dns1035_label(v):
    errs = []
    if len(v) > 63:
        errs.append(max_len_error(63))
    if not re.fullmatch(DNS1035_LABEL_FMT, v):
        errs.append(regex_error(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
            "alphabetic character, and end with an alphanumeric character", DNS1035_LABEL_FMT,
            "my-name", "abc-123"))
    return errs


QNAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
             "an alphanumeric character")


@_per_string
def is_qualified_name(v):
    errs = []
    parts = v.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return ["a qualified name " + regex_error(QNAME_MSG, QNAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + max_len_error(63))
    if not re.fullmatch(QNAME_FMT, name):
        errs.append("name part " + regex_error(QNAME_MSG, QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


@_per_string
def is_label_value(v):
    errs = []
    if len(v) > 63:
        errs.append(max_len_error(63))
    if not re.fullmatch(LABEL_VALUE_FMT, v):
        errs.append(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character", LABEL_VALUE_FMT,
            "MyValue", "my_value", "12345"))
    return errs


@_per_string
def is_config_key(v):
    errs = []
    if len(v) > 253:
        errs.append(max_len_error(253))
    if not re.fullmatch(CONFIG_KEY_FMT, v):
        errs.append(regex_error("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                                CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    if v in (".", ".."):
        errs.append("must not be '%s'" % v)
    elif v.startswith(".."):
        errs.append("must not start with '..'")
    return errs


@_per_string
def is_port_name(v):
    errs = []
    if len(v) > 15:
        errs.append("must be no more than 15 characters")
    if not re.fullmatch("[-a-z0-9]+", v):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in v:
        errs.append("must not contain consecutive hyphens")
    if v and not re.search("[a-z]", v):
        errs.append("must contain at least one letter (a-z)")
    if v.startswith("-") or v.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


# --------------------------------------------------------------------------
# a tiny YAML subset (block maps/lists, flow collections, scalars, | and >)
# --------------------------------------------------------------------------


class YamlError(Exception):
    pass


def _yaml_scalar(s):
    s = s.strip()
    if s == "" or s in ("~", "null", "Null", "NULL"):
        return None
    if s[0] in "[{":
        return _yaml_flow(s)
    if s[0] == '"':
        try:
            return json.loads(s)
        except ValueError:
            raise YamlError("bad double-quoted scalar: %s" % s)
    if s[0] == "'":
        if not s.endswith("'") or len(s) < 2:
            raise YamlError("bad single-quoted scalar: %s" % s)
        return s[1:-1].replace("''", "'")
    if s in ("true", "True", "TRUE"):
        return True
    if s in ("false", "False", "FALSE"):
        return False
    if re.fullmatch(r"[-+]?[0-9]+", s):
        return int(s)
    if re.fullmatch(r"0x[0-9a-fA-F]+", s):
        return int(s, 16)
    if re.fullmatch(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?", s):
        return float(s)
    return s


def _yaml_flow(s):
    """Flow collections: try JSON first, then a lenient tokenizer."""
    try:
        return json.loads(s)
    except ValueError:
        pass
    pos = [0]

    def ws():
        while pos[0] < len(s) and s[pos[0]] in " \t\n":
            pos[0] += 1

    def value(stop):
        ws()
        c = s[pos[0]] if pos[0] < len(s) else ""
        if c == "[":
            pos[0] += 1
            out = []
            while True:
                ws()
                if s[pos[0]] == "]":
                    pos[0] += 1
                    return out
                out.append(value(",]"))
                ws()
                if s[pos[0]] == ",":
                    pos[0] += 1
        if c == "{":
            pos[0] += 1
            out = {}
            while True:
                ws()
                if s[pos[0]] == "}":
                    pos[0] += 1
                    return out
                k = value(":")
                ws()
                if s[pos[0]] != ":":
                    raise YamlError("expected ':' in flow mapping")
                pos[0] += 1
                out[str(k)] = value(",}")
                ws()
                if s[pos[0]] == ",":
                    pos[0] += 1
        if c in "\"'":
            q = c
            j = pos[0] + 1
            while j < len(s):
                if q == '"' and s[j] == "\\":
                    j += 2
                    continue
                if s[j] == q:
                    if q == "'" and j + 1 < len(s) and s[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            tok = s[pos[0]:j + 1]
            pos[0] = j + 1
            return _yaml_scalar(tok)
        j = pos[0]
        while j < len(s) and s[j] not in stop:
            j += 1
        tok = s[pos[0]:j]
        pos[0] = j
        return _yaml_scalar(tok)

    try:
        return value("")
    except IndexError:
        raise YamlError("unterminated flow collection: %s" % s)


def _strip_comment(line):
    out, q = [], None
    for i, c in enumerate(line):
        if q:
            if c == q:
                q = None
        elif c in "\"'" and (i == 0 or line[i - 1] in " \t:[{,-"):
            q = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        out.append(c)
    return "".join(out).rstrip()


def yaml_load(text):
    try:
        return json.loads(text)
    except ValueError:
        pass
    raw = text.split("\n")
    docs = [l for l in raw if l.strip() == "---"]
    if len(docs) > 1:
        raise YamlError("multiple YAML documents are not supported")
    lines = []  # (indent, text, rawline-index)
    for i, l in enumerate(raw):
        if l.strip() in ("---", "...") or l.lstrip().startswith("%"):
            continue
        lines.append((i, l))
    pos = [0]

    def cur():
        while pos[0] < len(lines):
            i, l = lines[pos[0]]
            t = _strip_comment(l)
            if t.strip():
                return len(t) - len(t.lstrip(" ")), t.strip(), i
            pos[0] += 1
        return None

    def block_scalar(style, parent_indent):
        keep = style[1:] if len(style) > 1 else ""
        pos[0] += 1
        body, ind = [], None
        while pos[0] < len(lines):
            _, l = lines[pos[0]]
            if l.strip() == "":
                body.append("")
                pos[0] += 1
                continue
            li = len(l) - len(l.lstrip(" "))
            if ind is None:
                ind = li
            if li < ind or li <= parent_indent:
                break
            body.append(l[ind:])
            pos[0] += 1
        while body and body[-1] == "" and keep != "+":
            body.pop()
        if style[0] == "|":
            out = "\n".join(body)
        else:
            out, prev_blank = "", True
            for b in body:
                if b == "":
                    out += "\n"
                    prev_blank = True
                else:
                    out += ("" if prev_blank else " ") + b
                    prev_blank = False
        if keep != "-":
            out += "\n"
        return out

    def parse_value_after(rest, indent):
        rest = rest.strip()
        if rest in ("|", "|-", "|+", ">", ">-", ">+"):
            return block_scalar(rest, indent)
        pos[0] += 1
        if rest == "":
            c = cur()
            if c is None:
                return None
            ci, ct, _ = c
            if ci > indent or (ci == indent and ct.startswith("- ") or ct == "-") and ci >= indent:
                if ci == indent and not (ct.startswith("- ") or ct == "-"):
                    return None
                return parse_block(ci)
            return None
        return _yaml_scalar(rest)

    def split_key(t):
        if t[0] in "\"'":
            q = t[0]
            j = t.index(q, 1)
            key = _yaml_scalar(t[:j + 1])
            rest = t[j + 1:]
            if not rest.lstrip().startswith(":"):
                return None, None
            return str(key), rest.lstrip()[1:]
        m = re.match(r"([^:#]*?|[^\s].*?):(\s|$)", t)
        if not m:
            return None, None
        return m.group(1).strip(), t[m.end(1) + 1:]

    def parse_block(indent):
        c = cur()
        ci, ct, _ = c
        if ct.startswith("- ") or ct == "-":
            out = []
            while True:
                c = cur()
                if c is None:
                    return out
                ci, ct, li = c
                if ci < indent:
                    return out
                if ci != indent or not (ct.startswith("- ") or ct == "-"):
                    if ci > indent:
                        raise YamlError("line %d: bad indentation" % (li + 1))
                    return out
                item = ct[1:].lstrip(" ")
                if item == "":
                    pos[0] += 1
                    c2 = cur()
                    out.append(parse_block(c2[0]) if c2 and c2[0] > indent else None)
                    continue
                sub_indent = ci + (len(ct) - len(item))
                k, _ = split_key(item) if item[0] not in "[{" else (None, None)
                if k is not None:
                    # compact mapping inside a sequence entry: rewrite the line
                    i, l = lines[pos[0]]
                    lines[pos[0]] = (i, " " * sub_indent + item)
                    out.append(parse_block(sub_indent))
                else:
                    if item in ("|", "|-", "|+", ">", ">-", ">+"):
                        out.append(block_scalar(item, ci))
                    else:
                        pos[0] += 1
                        out.append(_yaml_scalar(item))
        out = {}
        while True:
            c = cur()
            if c is None:
                return out
            ci, ct, li = c
            if ci < indent:
                return out
            if ci > indent:
                raise YamlError("line %d: bad indentation" % (li + 1))
            if ct.startswith("- "):
                return out
            k, rest = split_key(ct)
            if k is None:
                raise YamlError("line %d: expected 'key: value'" % (li + 1))
            out[k] = parse_value_after(rest, indent)

    c = cur()
    if c is None:
        return None
    if c[1][0] in "[{" or (c[1][0] in "\"'" and split_key(c[1])[0] is None):
        return _yaml_scalar(" ".join(_strip_comment(l) for _, l in lines[pos[0]:]))
    v = parse_block(c[0])
    if cur() is not None:
        raise YamlError("line %d: unexpected content" % (cur()[2] + 1))
    return v


# --------------------------------------------------------------------------
# type schemas: enough of the built-in types to find unknown fields, wrong
# scalar types, list-map keys and atomic structs (for SSA and SMP)
# --------------------------------------------------------------------------
#
# Type expressions: scalar names (string int32 int64 bool number IntOrString
# Quantity Time bytes), "any", "map[T]", "[]T" (atomic list), "[]T|set",
# "[]T|map:k1,k2" (list-map), "@T" (atomic struct), or a struct name below.

VOLUME_SOURCES = ["hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo",
                  "secret", "nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume",
                  "cinder", "cephfs", "flocker", "downwardAPI", "fc", "azureFile", "configMap",
                  "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "projected",
                  "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral", "image"]

STRUCTS = {
    "ObjectMeta": {
        "name": "string", "generateName": "string", "namespace": "string", "selfLink": "string",
        "uid": "string", "resourceVersion": "string", "generation": "int64",
        "creationTimestamp": "Time", "deletionTimestamp": "Time", "deletionGracePeriodSeconds": "int64",
        "labels": "map[string]", "annotations": "map[string]",
        "ownerReferences": "[]OwnerReference|map:uid", "finalizers": "[]string|set",
        "managedFields": "[]any"},
    "OwnerReference": {"apiVersion": "string", "kind": "string", "name": "string", "uid": "string",
                       "controller": "bool", "blockOwnerDeletion": "bool"},
    "LabelSelector": {"matchLabels": "map[string]", "matchExpressions": "[]LabelSelectorRequirement"},
    "LabelSelectorRequirement": {"key": "string", "operator": "string", "values": "[]string"},
    "PodTemplateSpec": {"metadata": "ObjectMeta", "spec": "PodSpec"},
    "PodSpec": {
        "volumes": "[]Volume|map:name", "initContainers": "[]Container|map:name",
        "containers": "[]Container|map:name", "ephemeralContainers": "[]any|map:name",
        "restartPolicy": "string", "terminationGracePeriodSeconds": "int64",
        "activeDeadlineSeconds": "int64", "dnsPolicy": "string", "nodeSelector": "map[string]",
        "serviceAccountName": "string", "serviceAccount": "string",
        "automountServiceAccountToken": "bool", "nodeName": "string", "hostNetwork": "bool",
        "hostPID": "bool", "hostIPC": "bool", "shareProcessNamespace": "bool", "securityContext": "any",
        "imagePullSecrets": "[]LocalObjectReference|map:name", "hostname": "string",
        "subdomain": "string", "affinity": "any", "schedulerName": "string", "tolerations": "[]any",
        "hostAliases": "[]any|map:ip", "priorityClassName": "string", "priority": "int32",
        "dnsConfig": "any", "readinessGates": "[]any", "runtimeClassName": "string",
        "enableServiceLinks": "bool", "preemptionPolicy": "string", "overhead": "map[Quantity]",
        "topologySpreadConstraints": "[]any|map:topologyKey,whenUnsatisfiable",
        "setHostnameAsFQDN": "bool", "os": "any", "hostUsers": "bool",
        "schedulingGates": "[]any|map:name", "resourceClaims": "[]any|map:name", "resources": "any"},
    "Container": {
        "name": "string", "image": "string", "command": "[]string", "args": "[]string",
        "workingDir": "string", "ports": "[]ContainerPort|map:containerPort,protocol",
        "envFrom": "[]EnvFromSource", "env": "[]EnvVar|map:name", "resources": "ResourceRequirements",
        "resizePolicy": "[]any", "restartPolicy": "string",
        "volumeMounts": "[]VolumeMount|map:mountPath", "volumeDevices": "[]any|map:devicePath",
        "livenessProbe": "any", "readinessProbe": "any", "startupProbe": "any", "lifecycle": "any",
        "terminationMessagePath": "string", "terminationMessagePolicy": "string",
        "imagePullPolicy": "string", "securityContext": "any", "stdin": "bool", "stdinOnce": "bool",
        "tty": "bool"},
    "ContainerPort": {"name": "string", "hostPort": "int32", "containerPort": "int32",
                      "protocol": "string", "hostIP": "string"},
    "EnvVar": {"name": "string", "value": "string", "valueFrom": "any"},
    "EnvFromSource": {"prefix": "string", "configMapRef": "any", "secretRef": "any"},
    "VolumeMount": {"name": "string", "readOnly": "bool", "recursiveReadOnly": "string",
                    "mountPath": "string", "subPath": "string", "mountPropagation": "string",
                    "subPathExpr": "string"},
    "ResourceRequirements": {"limits": "map[Quantity]", "requests": "map[Quantity]",
                             "claims": "[]any|map:name"},
    "VolumeResourceRequirements": {"limits": "map[Quantity]", "requests": "map[Quantity]"},
    "Volume": dict([("name", "string")] + [(v, "any") for v in VOLUME_SOURCES]),
    "LocalObjectReference": {"name": "string"},
    # apps/v1
    "DeploymentSpec": {"replicas": "int32", "selector": "@LabelSelector", "template": "PodTemplateSpec",
                       "strategy": "DeploymentStrategy", "minReadySeconds": "int32",
                       "revisionHistoryLimit": "int32", "paused": "bool",
                       "progressDeadlineSeconds": "int32"},
    "DeploymentStrategy": {"type": "string", "rollingUpdate": "RollingUpdateDeployment"},
    "RollingUpdateDeployment": {"maxUnavailable": "IntOrString", "maxSurge": "IntOrString"},
    "StatefulSetSpec": {"replicas": "int32", "selector": "@LabelSelector", "template": "PodTemplateSpec",
                        "volumeClaimTemplates": "[]PersistentVolumeClaimTemplate", "serviceName": "string",
                        "podManagementPolicy": "string", "updateStrategy": "StatefulSetUpdateStrategy",
                        "revisionHistoryLimit": "int32", "minReadySeconds": "int32",
                        "persistentVolumeClaimRetentionPolicy": "any", "ordinals": "any"},
    "PersistentVolumeClaimTemplate": {"apiVersion": "string", "kind": "string", "metadata": "ObjectMeta",
                                      "spec": "PersistentVolumeClaimSpec", "status": "any"},
    "StatefulSetUpdateStrategy": {"type": "string", "rollingUpdate": "any"},
    "DaemonSetSpec": {"selector": "@LabelSelector", "template": "PodTemplateSpec",
                      "updateStrategy": "DaemonSetUpdateStrategy", "minReadySeconds": "int32",
                      "revisionHistoryLimit": "int32"},
    "DaemonSetUpdateStrategy": {"type": "string", "rollingUpdate": "any"},
    "ReplicaSetSpec": {"replicas": "int32", "minReadySeconds": "int32", "selector": "@LabelSelector",
                       "template": "PodTemplateSpec"},
    # batch/v1
    "JobSpec": {"parallelism": "int32", "completions": "int32", "activeDeadlineSeconds": "int64",
                "podFailurePolicy": "any", "successPolicy": "any", "backoffLimit": "int32",
                "backoffLimitPerIndex": "int32", "maxFailedIndexes": "int32",
                "selector": "@LabelSelector", "manualSelector": "bool", "template": "PodTemplateSpec",
                "ttlSecondsAfterFinished": "int32", "completionMode": "string", "suspend": "bool",
                "podReplacementPolicy": "string", "managedBy": "string"},
    "CronJobSpec": {"schedule": "string", "timeZone": "string", "startingDeadlineSeconds": "int64",
                    "concurrencyPolicy": "string", "suspend": "bool", "jobTemplate": "JobTemplateSpec",
                    "successfulJobsHistoryLimit": "int32", "failedJobsHistoryLimit": "int32"},
    "JobTemplateSpec": {"metadata": "ObjectMeta", "spec": "JobSpec"},
    # core/v1
    "ServiceSpec": {"ports": "[]ServicePort|map:port,protocol", "selector": "map[string]",
                    "clusterIP": "string", "clusterIPs": "[]string", "type": "string",
                    "externalIPs": "[]string", "sessionAffinity": "string", "loadBalancerIP": "string",
                    "loadBalancerSourceRanges": "[]string", "externalName": "string",
                    "externalTrafficPolicy": "string", "healthCheckNodePort": "int32",
                    "publishNotReadyAddresses": "bool", "sessionAffinityConfig": "any",
                    "ipFamilies": "[]string", "ipFamilyPolicy": "string",
                    "allocateLoadBalancerNodePorts": "bool", "loadBalancerClass": "string",
                    "internalTrafficPolicy": "string", "trafficDistribution": "string"},
    "ServicePort": {"name": "string", "protocol": "string", "appProtocol": "string", "port": "int32",
                    "targetPort": "IntOrString", "nodePort": "int32"},
    "PersistentVolumeClaimSpec": {"accessModes": "[]string", "selector": "@LabelSelector",
                                  "resources": "VolumeResourceRequirements", "volumeName": "string",
                                  "storageClassName": "string", "volumeMode": "string",
                                  "dataSource": "any", "dataSourceRef": "any",
                                  "volumeAttributesClassName": "string"},
    "NamespaceSpec": {"finalizers": "[]string"},
    # networking.k8s.io/v1
    "IngressSpec": {"ingressClassName": "string", "defaultBackend": "IngressBackend",
                    "tls": "[]IngressTLS", "rules": "[]IngressRule"},
    "IngressTLS": {"hosts": "[]string", "secretName": "string"},
    "IngressRule": {"host": "string", "http": "HTTPIngressRuleValue"},
    "HTTPIngressRuleValue": {"paths": "[]HTTPIngressPath"},
    "HTTPIngressPath": {"path": "string", "pathType": "string", "backend": "IngressBackend"},
    "IngressBackend": {"service": "IngressServiceBackend", "resource": "any"},
    "IngressServiceBackend": {"name": "string", "port": "ServiceBackendPort"},
    "ServiceBackendPort": {"name": "string", "number": "int32"},
    "NetworkPolicySpec": {"podSelector": "@LabelSelector", "ingress": "[]any", "egress": "[]any",
                          "policyTypes": "[]string"},
    # autoscaling/v2
    "HorizontalPodAutoscalerSpec": {"scaleTargetRef": "CrossVersionObjectReference",
                                    "minReplicas": "int32", "maxReplicas": "int32",
                                    "metrics": "[]MetricSpec", "behavior": "any"},
    "CrossVersionObjectReference": {"kind": "string", "name": "string", "apiVersion": "string"},
    "MetricSpec": {"type": "string", "object": "any", "pods": "any", "resource": "ResourceMetricSource",
                   "containerResource": "any", "external": "any"},
    "ResourceMetricSource": {"name": "string", "target": "MetricTarget"},
    "MetricTarget": {"type": "string", "value": "Quantity", "averageValue": "Quantity",
                     "averageUtilization": "int32"},
    # policy/v1
    "PodDisruptionBudgetSpec": {"minAvailable": "IntOrString", "selector": "@LabelSelector",
                                "maxUnavailable": "IntOrString", "unhealthyPodEvictionPolicy": "string"},
    # rbac
    "PolicyRule": {"verbs": "[]string", "apiGroups": "[]string", "resources": "[]string",
                   "resourceNames": "[]string", "nonResourceURLs": "[]string"},
    "RoleRef": {"apiGroup": "string", "kind": "string", "name": "string"},
    "Subject": {"kind": "string", "apiGroup": "string", "name": "string", "namespace": "string"},
    # apiextensions
    "CustomResourceDefinitionSpec": {"group": "string", "names": "CRDNames", "scope": "string",
                                     "versions": "[]CRDVersion", "conversion": "any",
                                     "preserveUnknownFields": "bool"},
    "CRDNames": {"plural": "string", "singular": "string", "shortNames": "[]string", "kind": "string",
                 "listKind": "string", "categories": "[]string"},
    "CRDVersion": {"name": "string", "served": "bool", "storage": "bool", "deprecated": "bool",
                   "deprecationWarning": "string", "schema": "any", "subresources": "any",
                   "additionalPrinterColumns": "[]any", "selectableFields": "[]any"},
}

TOP = {"apiVersion": "string", "kind": "string", "metadata": "ObjectMeta"}


def _top(**fields):
    d = dict(TOP)
    d.update(fields)
    return d


KIND_TYPES = {
    "Namespace": _top(spec="NamespaceSpec", status="any"),
    "ConfigMap": _top(data="map[string]", binaryData="map[bytes]", immutable="bool"),
    "Secret": _top(data="map[bytes]", stringData="map[string]", type="string", immutable="bool"),
    "Service": _top(spec="ServiceSpec", status="any"),
    "PersistentVolumeClaim": _top(spec="PersistentVolumeClaimSpec", status="any"),
    "Pod": _top(spec="PodSpec", status="any"),
    "ServiceAccount": _top(secrets="[]any", imagePullSecrets="[]LocalObjectReference",
                           automountServiceAccountToken="bool"),
    "Event": None,  # anything goes
    "Deployment": _top(spec="DeploymentSpec", status="any"),
    "StatefulSet": _top(spec="StatefulSetSpec", status="any"),
    "DaemonSet": _top(spec="DaemonSetSpec", status="any"),
    "ReplicaSet": _top(spec="ReplicaSetSpec", status="any"),
    "Job": _top(spec="JobSpec", status="any"),
    "CronJob": _top(spec="CronJobSpec", status="any"),
    "Ingress": _top(spec="IngressSpec", status="any"),
    "IngressClass": _top(spec="any"),
    "NetworkPolicy": _top(spec="NetworkPolicySpec"),
    "HorizontalPodAutoscaler": _top(spec="HorizontalPodAutoscalerSpec", status="any"),
    "PodDisruptionBudget": _top(spec="PodDisruptionBudgetSpec", status="any"),
    "Role": _top(rules="[]PolicyRule"),
    "ClusterRole": _top(rules="[]PolicyRule", aggregationRule="any"),
    "RoleBinding": _top(subjects="[]Subject", roleRef="@RoleRef"),
    "ClusterRoleBinding": _top(subjects="[]Subject", roleRef="@RoleRef"),
    "CustomResourceDefinition": _top(spec="CustomResourceDefinitionSpec", status="any"),
}

SCALARS = {"string", "int32", "int64", "bool", "number", "IntOrString", "Quantity", "Time", "bytes"}


class TNode(object):
    """One node of a type schema (built-in DSL or a CRD's openAPIV3Schema)."""
    __slots__ = ("kind", "name", "fields", "elem", "ltype", "keys", "atomic", "scalar",
                 "schema", "preserve", "_cache", "fieldname")

    def __init__(self, kind, name=""):
        self.kind = kind          # struct map list scalar any
        self.name = name
        self.fields = None        # struct: name -> expr or schema
        self.elem = None
        self.ltype = "atomic"
        self.keys = []
        self.atomic = False
        self.scalar = None
        self.schema = None        # CRD schema
        self.preserve = False     # CRD: x-kubernetes-preserve-unknown-fields
        self._cache = {}

    def child(self, fname):
        """Type of field fname, or None if the field is unknown."""
        if self.kind == "any":
            if fname == "conditions":
                return CONDITIONS_NODE
            return ANY
        if self.kind == "map":
            return self.elem
        if self.kind != "struct":
            return None
        if fname in self._cache:
            return self._cache[fname]
        if fname not in self.fields:
            r = ANY if self.preserve else None
        elif self.schema is not None or isinstance(self.fields[fname], dict):
            r = crd_node(self.fields[fname])
        else:
            r = tnode(self.fields[fname])
        self._cache[fname] = r
        return r


ANY = TNode("any", "interface {}")
CONDITIONS_NODE = TNode("list", "[]Condition")
CONDITIONS_NODE.elem = ANY
CONDITIONS_NODE.ltype = "map"
CONDITIONS_NODE.keys = ["type"]
_TNODE_CACHE = {}


def tnode(expr):
    n = _TNODE_CACHE.get(expr)
    if n is not None:
        return n
    if expr == "any":
        n = ANY
    elif expr.startswith("@"):
        base = tnode(expr[1:])
        n = TNode(base.kind, base.name)
        n.fields, n.elem, n.scalar = base.fields, base.elem, base.scalar
        n.atomic = True
    elif expr.startswith("[]"):
        e, _, opt = expr[2:].partition("|")
        n = TNode("list", "[]" + e)
        n.elem = tnode(e)
        if opt == "set":
            n.ltype = "set"
        elif opt.startswith("map:"):
            n.ltype = "map"
            n.keys = opt[4:].split(",")
    elif expr.startswith("map["):
        n = TNode("map", "map[string]" + expr[4:-1])
        n.elem = tnode(expr[4:-1])
    elif expr in SCALARS:
        n = TNode("scalar", expr)
        n.scalar = expr
    else:
        n = TNode("struct", expr)
        n.fields = STRUCTS[expr]
    _TNODE_CACHE[expr] = n
    return n


def crd_node(schema):
    if not isinstance(schema, dict) or not schema:
        return ANY
    key = id(schema)
    n = _TNODE_CACHE.get(("crd", key))
    if n is not None and n.schema is schema:
        return n
    t = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        n = TNode("scalar", "IntOrString")
        n.scalar = "IntOrString"
    elif t == "object" or (t is None and "properties" in schema):
        if "properties" in schema:
            n = TNode("struct", "object")
            n.fields = schema["properties"]
            n.preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
            n.atomic = schema.get("x-kubernetes-map-type") == "atomic"
        elif "additionalProperties" in schema and schema["additionalProperties"] is not False:
            n = TNode("map", "object")
            ap = schema["additionalProperties"]
            n.elem = crd_node(ap) if isinstance(ap, dict) else ANY
            n.atomic = schema.get("x-kubernetes-map-type") == "atomic"
        elif schema.get("x-kubernetes-preserve-unknown-fields") or schema.get("x-kubernetes-embedded-resource"):
            n = ANY
        else:
            n = TNode("struct", "object")
            n.fields = {}
    elif t == "array":
        n = TNode("list", "array")
        n.elem = crd_node(schema.get("items") or {})
        lt = schema.get("x-kubernetes-list-type", "atomic")
        n.ltype = lt if lt in ("atomic", "set", "map") else "atomic"
        n.keys = list(schema.get("x-kubernetes-list-map-keys") or [])
    elif t in ("string", "integer", "number", "boolean"):
        n = TNode("scalar", t)
        n.scalar = {"string": "string", "integer": "int64", "number": "number", "boolean": "bool"}[t]
    else:
        n = ANY
    if n is not ANY:
        n.schema = schema
    _TNODE_CACHE[("crd", key)] = n
    return n


def crd_top_node(schema):
    """Root node of a custom resource: the schema's properties plus apiVersion/kind/metadata."""
    n = TNode("struct", "object")
    props = dict((schema or {}).get("properties") or {})
    props["apiVersion"] = {"type": "string"}
    props["kind"] = {"type": "string"}
    n.fields = props
    n.schema = schema or {}
    n.preserve = bool((schema or {}).get("x-kubernetes-preserve-unknown-fields")) or not schema
    n._cache["metadata"] = tnode("ObjectMeta")
    return n


def json_type_name(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def scalar_ok(scalar, v):
    if scalar in ("string", "Time", "bytes"):
        return isinstance(v, str)
    if scalar in ("int32", "int64"):
        return is_int(v)
    if scalar == "number":
        return is_num(v)
    if scalar == "bool":
        return isinstance(v, bool)
    if scalar in ("IntOrString", "Quantity"):
        return isinstance(v, str) or is_int(v) or (scalar == "Quantity" and is_num(v))
    return True


def go_type_name(node):
    if node.kind == "scalar":
        return {"Time": "v1.Time", "bytes": "[]uint8", "IntOrString": "intstr.IntOrString",
                "Quantity": "resource.Quantity", "number": "float64"}.get(node.scalar, node.scalar)
    if node.kind == "struct":
        return "v1." + node.name
    if node.kind == "list":
        return "[]v1." + node.name[2:] if node.elem.kind == "struct" else node.name
    return node.name


def item_key(node, item):
    """Key dict of a list-map item (missing 'protocol' defaults to TCP)."""
    key = {}
    for k in node.keys:
        if isinstance(item, dict) and k in item:
            key[k] = item[k]
        elif k == "protocol":
            key[k] = "TCP"
    return key


def key_json(key):
    return jdump(dict(sorted(key.items())))


def key_str(key):
    return "[" + ",".join("%s=%s" % (k, jdump(key[k])) for k in sorted(key)) + "]"


def decode_check(obj, node, strict_unknown=True):
    """Go-decoder-like check of a full object: returns (unknown_paths, type_error_msg, pruned)."""
    unknown = []
    terr = [None]

    def walk(v, n, path, gopath, parent_struct):
        if v is None:
            return None
        if n.kind == "any":
            return v
        if n.kind == "scalar":
            if not scalar_ok(n.scalar, v):
                if n.scalar in ("int32", "int64") and isinstance(v, float):
                    shown = "number %s" % (repr(v) if v != int(v) else "%s" % v)
                else:
                    shown = json_type_name(v)
                if terr[0] is None:
                    terr[0] = "json: cannot unmarshal %s into Go struct field %s of type %s" % (
                        shown, parent_struct + "." + gopath, go_type_name(n))
                return v
            if n.scalar == "bytes":
                try:
                    base64.b64decode(v, validate=True)
                except Exception:
                    if terr[0] is None:
                        bad = 0
                        for i, c in enumerate(v):
                            if not (c.isalnum() or c in "+/="):
                                bad = i
                                break
                        terr[0] = "illegal base64 data at input byte %d" % bad
            return v
        if n.kind == "list":
            if not isinstance(v, list):
                if terr[0] is None:
                    terr[0] = "json: cannot unmarshal %s into Go struct field %s of type %s" % (
                        json_type_name(v), parent_struct + "." + gopath, go_type_name(n))
                return v
            return [walk(x, n.elem, "%s[%d]" % (path, i), gopath, parent_struct)
                    for i, x in enumerate(v)]
        if not isinstance(v, dict):
            if terr[0] is None:
                terr[0] = "json: cannot unmarshal %s into Go struct field %s of type %s" % (
                    json_type_name(v), parent_struct + "." + gopath, go_type_name(n))
            return v
        out = {}
        for k, x in v.items():
            c = n.child(k)
            sub = (path + "." + k) if path else k
            if c is None:
                unknown.append(sub)
                continue
            if n.kind == "map":
                out[k] = walk(x, c, sub, gopath + "." + k if gopath else k, parent_struct)
            else:
                out[k] = walk(x, c, sub, (gopath + "." + k) if gopath else k,
                              n.name if n.kind == "struct" and n.schema is None else parent_struct)
        return out

    pruned = walk(obj, node, "", "", node.name)
    return unknown, terr[0], pruned


def _smd_path(p):
    """The text of a path built by smd_check: (parent, kind, a, b) links."""
    out = []
    while p is not None:
        p, kind, a, b = p
        if kind == "f":
            out.append("." + a)
        elif kind == "k":
            out.append(key_str(item_key(a, b)))
        elif kind == "v":
            out.append("[=%s]" % jdump(a))
        else:
            out.append("[%d]" % a)
    return "".join(reversed(out))


def smd_check(obj, node):
    """structured-merge-diff style typing of an applied object: list of '.path: msg'."""
    errs = []

    def walk(v, n, p):
        # p links to the parent's path; its text is made only for an error.
        if v is None or n.kind == "any":
            return
        if n.kind == "scalar":
            if n.scalar in ("int32", "int64", "number"):
                if not is_num(v):
                    errs.append("%s: expected numeric (int or float), got %s" % (_smd_path(p), json_type_name(v)))
            elif n.scalar == "bool":
                if not isinstance(v, bool):
                    errs.append("%s: expected boolean, got %s" % (_smd_path(p), json_type_name(v)))
            elif n.scalar in ("IntOrString", "Quantity"):
                if not (isinstance(v, str) or is_num(v)):
                    errs.append("%s: expected string or numeric, got %s" % (_smd_path(p), json_type_name(v)))
            elif not isinstance(v, str):
                errs.append("%s: expected string, got %s" % (_smd_path(p), json_type_name(v)))
            return
        if n.kind == "list":
            if not isinstance(v, list):
                errs.append("%s: expected list, got %s" % (_smd_path(p), json_type_name(v)))
                return
            for i, x in enumerate(v):
                if n.ltype == "map" and isinstance(x, dict):
                    walk(x, n.elem, (p, "k", n, x))
                elif n.ltype == "set":
                    walk(x, n.elem, (p, "v", x, None))
                else:
                    walk(x, n.elem, (p, "i", i, None))
            return
        if not isinstance(v, dict):
            errs.append("%s: expected map, got %s" % (_smd_path(p), json_type_name(v)))
            return
        for k, x in v.items():
            c = n.child(k)
            if c is None:
                errs.append("%s.%s: field not declared in schema" % (_smd_path(p), k))
                continue
            walk(x, c, (p, "f", k, None))

    walk(obj, node, None)
    return errs


# --------------------------------------------------------------------------
# field sets and managedFields (structured-merge-diff, object level)
# --------------------------------------------------------------------------

MISSING = object()

IGNORED_META = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                "selfLink", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds"}


def fieldset(obj, node):
    out = set()

    def walk(v, n, prefix):
        if v is None:
            return
        if isinstance(v, dict) and n.kind in ("struct", "map", "any") and not n.atomic:
            if not v:
                if prefix:
                    out.add(prefix)
                return
            for k, x in v.items():
                if x is None:
                    continue
                walk(x, n.child(k) or ANY, prefix + ("f:" + k,))
            return
        if isinstance(v, list) and n.kind == "list" and n.ltype in ("map", "set"):
            if not v:
                out.add(prefix)
                return
            for x in v:
                if n.ltype == "map":
                    p = prefix + ("k:" + key_json(item_key(n, x)),)
                    out.add(p)
                    if isinstance(x, dict):
                        for k, y in x.items():
                            if y is not None:
                                walk(y, n.elem.child(k) or ANY, p + ("f:" + k,))
                else:
                    out.add(prefix + ("v:" + jdump(x),))
            return
        out.add(prefix)

    walk(obj, node, ())
    return out


def filter_paths(paths, subresource, has_status):
    """Drop server-owned metadata, and status on the main resource (or all but status on /status)."""
    res = set()
    for p in paths:
        if not p:
            continue
        if p[0] in ("f:apiVersion", "f:kind"):
            continue
        if p[0] == "f:metadata":
            if len(p) == 1 or p[1][2:] in IGNORED_META:
                continue
        if subresource == "status":
            if p[0] != "f:status":
                continue
        elif has_status and p[0] == "f:status":
            continue
        res.add(p)
    return res


def to_fieldsv1(paths):
    root = {}
    ends = []
    for p in paths:
        node = root
        for el in p:
            node = node.setdefault(el, {})
        ends.append(node)
    for node in ends:
        if node and "." not in node:
            node["."] = {}

    def order(d):
        keys = sorted(d)
        if "." in d:                # "." first whatever the other keys are
            keys.remove(".")
            keys.insert(0, ".")
        return {k: order(d[k]) if d[k] else {} for k in keys}

    return order(root)


def from_fieldsv1(d, prefix=()):
    out = set()
    if not isinstance(d, dict):
        return out
    for k, v in d.items():
        if k == ".":
            if prefix:
                out.add(prefix)
            continue
        if not v:
            out.add(prefix + (k,))
        else:
            out |= from_fieldsv1(v, prefix + (k,))
    return out


def path_str(p):
    s = ""
    for el in p:
        t, v = el[:2], el[2:]
        if t == "f:":
            s += "." + v
        elif t == "k:":
            try:
                s += key_str(json.loads(v))
            except ValueError:
                s += "[" + v + "]"
        elif t == "v:":
            s += "[=" + v + "]"
        elif t == "i:":
            s += "[" + v + "]"
    return s


def _match_key(item, key):
    if not isinstance(item, dict):
        return False
    for k, v in key.items():
        iv = item.get(k, "TCP" if k == "protocol" else MISSING)
        if iv != v:
            return False
    return True


def get_at(obj, path):
    cur = obj
    for el in path:
        t, v = el[:2], el[2:]
        if t == "f:":
            if not isinstance(cur, dict) or v not in cur:
                return MISSING
            cur = cur[v]
        elif t == "k:":
            if not isinstance(cur, list):
                return MISSING
            key = json.loads(v)
            for it in cur:
                if _match_key(it, key):
                    cur = it
                    break
            else:
                return MISSING
        elif t == "v:":
            val = json.loads(v)
            if not isinstance(cur, list) or val not in cur:
                return MISSING
            cur = val
        elif t == "i:":
            i = int(v)
            if not isinstance(cur, list) or i >= len(cur):
                return MISSING
            cur = cur[i]
    return cur


def remove_at(obj, path):
    if not path:
        return False
    parent = get_at(obj, path[:-1])
    if parent is MISSING:
        return False
    el = path[-1]
    t, v = el[:2], el[2:]
    if t == "f:":
        if len(path) >= 2 and path[-2].startswith("k:"):
            try:
                if v in json.loads(path[-2][2:]):
                    return False  # never strip the key of a surviving list-map item
            except ValueError:
                pass
        if isinstance(parent, dict) and v in parent:
            del parent[v]
            return True
    elif t == "k:" and isinstance(parent, list):
        key = json.loads(v)
        for i, it in enumerate(parent):
            if _match_key(it, key):
                del parent[i]
                return True
    elif t == "v:" and isinstance(parent, list):
        val = json.loads(v)
        if val in parent:
            parent.remove(val)
            return True
    return False


def merge_applied(live, applied, n):
    """Merge an applied configuration into the live object following the schema."""
    if applied is None:
        return None
    if isinstance(applied, dict) and isinstance(live, dict) and n.kind in ("struct", "map", "any") \
            and not n.atomic:
        out = dict(live)
        for k, x in applied.items():
            if x is None:
                out.pop(k, None)
                continue
            c = n.child(k) or ANY
            out[k] = merge_applied(live[k], x, c) if k in live else strip_nulls(x)
        return out
    if isinstance(applied, list) and isinstance(live, list) and n.kind == "list" and n.ltype == "map":
        out = [dcopy(x) for x in live]
        for item in applied:
            key = item_key(n, item)
            for i, it in enumerate(out):
                if _match_key(it, key):
                    out[i] = merge_applied(it, item, n.elem)
                    break
            else:
                out.append(strip_nulls(item))
        return out
    if isinstance(applied, list) and isinstance(live, list) and n.kind == "list" and n.ltype == "set":
        out = list(live)
        for x in applied:
            if x not in out:
                out.append(x)
        return out
    return strip_nulls(applied)


class Managers(object):
    """managedFields as a list of entries with decoded field sets."""

    def __init__(self, entries=None):
        self.entries = []
        for e in entries or []:
            if not isinstance(e, dict) or not e.get("manager") and not e.get("operation"):
                continue
            self.entries.append({
                "manager": e.get("manager", ""), "operation": e.get("operation", "Update"),
                "apiVersion": e.get("apiVersion", ""), "time": e.get("time"),
                "subresource": e.get("subresource", ""),
                "set": from_fieldsv1(e.get("fieldsV1") or {})})

    @staticmethod
    def ident(e):
        if e["operation"] == "Apply":
            return (e["manager"], "Apply", "", e["subresource"])
        return (e["manager"], "Update", e["apiVersion"], e["subresource"])

    def find(self, manager, operation, api_version, subresource):
        ident = (manager, operation, api_version if operation == "Update" else "", subresource)
        for e in self.entries:
            if self.ident(e) == ident:
                return e
        return None

    def get_or_add(self, manager, operation, api_version, subresource):
        e = self.find(manager, operation, api_version, subresource)
        if e is None:
            e = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": None,
                 "subresource": subresource, "set": set()}
            self.entries.append(e)
        return e

    def encode(self):
        out = []
        for e in self.entries:
            if not e["set"]:
                continue
            d = {"manager": e["manager"], "operation": e["operation"], "apiVersion": e["apiVersion"]}
            if e["time"]:
                d["time"] = e["time"]
            d["fieldsType"] = "FieldsV1"
            d["fieldsV1"] = to_fieldsv1(e["set"])
            if e["subresource"]:
                d["subresource"] = e["subresource"]
            out.append(d)
        out.sort(key=lambda d: (d["operation"], parse_ts(d["time"]) if d.get("time") else 0,
                                d["manager"], d["apiVersion"], d.get("subresource", "")))
        return out


def print_manager(e):
    s = go_quote(e["manager"])
    if e["subresource"]:
        s += " with subresource %s" % go_quote(e["subresource"])
    if e["operation"] == "Update":
        s += " using %s" % e["apiVersion"]
    return s


def conflict_error(conflicts):
    """conflicts: list of (entry, path)."""
    causes = [{"reason": "FieldManagerConflict", "message": "conflict with %s" % print_manager(e),
               "field": path_str(p)} for e, p in conflicts]
    if len(conflicts) == 1:
        e, p = conflicts[0]
        msg = "Apply failed with 1 conflict: conflict with %s: %s" % (print_manager(e), path_str(p))
    else:
        by = {}
        for e, p in conflicts:
            k = jdump({"manager": e["manager"], "operation": e["operation"],
                       "apiVersion": e["apiVersion"] if e["operation"] == "Update" else "",
                       "subresource": e["subresource"]})
            by.setdefault(k, (e, []))[1].append(p)
        lines = []
        for k in sorted(by):
            e, ps = by[k]
            lines.append("conflicts with %s:" % print_manager(e))
            lines.extend("- %s" % path_str(p) for p in sorted(ps, key=path_str))
        msg = "Apply failed with %d conflicts: %s" % (len(conflicts), "\n".join(lines))
    return ApiError(409, "Conflict", msg, {"causes": causes})


# --------------------------------------------------------------------------
# resources
# --------------------------------------------------------------------------

VERBS_ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


class Res(object):
    def __init__(self, group, version, resource, kind, namespaced, short=(), categories=(),
                 status=False, generation=False, crd=None, node=None, singular=None, verbs=None,
                 printer_columns=None, preferred=True, storage_version=None, scale=False):
        self.group = group
        self.version = version
        self.resource = resource
        self.kind = kind
        self.namespaced = namespaced
        self.short = list(short)
        self.categories = list(categories)
        self.has_status = status
        self.has_generation = generation
        self.crd = crd
        self.singular = singular or kind.lower()
        self.verbs = verbs or VERBS_ALL
        self.printer_columns = printer_columns
        self.preferred = preferred
        self.storage_version = storage_version or version
        self.has_scale = scale
        if node is None:
            fields = KIND_TYPES.get(kind)
            if fields is None:
                node = TNode("struct", kind)
                node.fields = dict(TOP)
                node.preserve = True
            else:
                node = TNode("struct", kind)
                node.fields = fields
        self.node = node

    @property
    def gv(self):
        return self.version if not self.group else "%s/%s" % (self.group, self.version)

    @property
    def storage_gv(self):
        return self.storage_version if not self.group else "%s/%s" % (self.group, self.storage_version)

    @property
    def skey(self):
        return (self.group, self.resource)

    def __repr__(self):
        return "<Res %s %s>" % (self.gv, self.resource)


def builtin_resources():
    R = Res
    return [
        R("", "v1", "namespaces", "Namespace", False, ["ns"], status=True,
          verbs=["create", "delete", "get", "list", "patch", "update", "watch"]),
        R("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
        R("", "v1", "secrets", "Secret", True),
        R("", "v1", "services", "Service", True, ["svc"], ["all"], status=True),
        R("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"], status=True),
        R("", "v1", "pods", "Pod", True, ["po"], ["all"], status=True),
        R("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
        R("", "v1", "events", "Event", True, ["ev"]),
        R("apps", "v1", "deployments", "Deployment", True, ["deploy"], ["all"], True, True, scale=True),
        R("apps", "v1", "statefulsets", "StatefulSet", True, ["sts"], ["all"], True, True, scale=True),
        R("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"], ["all"], True, True),
        R("apps", "v1", "replicasets", "ReplicaSet", True, ["rs"], ["all"], True, True, scale=True),
        R("batch", "v1", "jobs", "Job", True, [], ["all"], True, True),
        R("batch", "v1", "cronjobs", "CronJob", True, ["cj"], ["all"], True, True),
        R("networking.k8s.io", "v1", "ingresses", "Ingress", True, ["ing"], [], True, True),
        R("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False, [], [], False, True),
        R("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ["netpol"], [], False, True),
        R("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ["hpa"],
          ["all"], True, False),
        R("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ["pdb"], [], True, True),
        R("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
        R("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
        R("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
        R("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
        R("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
          ["crd", "crds"], ["api-extensions"], True, True),
        R("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False, verbs=["create"]),
        R("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
          verbs=["create"]),
    ]


GROUP_ORDER = ["", "apps", "batch", "networking.k8s.io", "autoscaling", "policy",
               "rbac.authorization.k8s.io", "apiextensions.k8s.io", "authentication.k8s.io",
               "authorization.k8s.io"]
VIRTUAL = ("selfsubjectreviews", "selfsubjectaccessreviews")


def resources_from_crd(crd):
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    out = []
    versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
    storage = next((v.get("name") for v in spec.get("versions") or [] if v.get("storage")), None)
    for i, v in enumerate(versions):
        schema = ((v.get("schema") or {}).get("openAPIV3Schema"))
        sub = v.get("subresources") or {}
        r = Res(group, v.get("name", "v1"), names.get("plural", ""), names.get("kind", ""),
                spec.get("scope", "Namespaced") == "Namespaced", names.get("shortNames") or [],
                names.get("categories") or [], status="status" in sub, generation=True,
                crd=crd["metadata"]["name"], node=crd_top_node(schema),
                singular=names.get("singular") or names.get("kind", "").lower(),
                printer_columns=v.get("additionalPrinterColumns"), preferred=(i == 0),
                storage_version=storage, scale="scale" in sub)
        r.schema = schema
        r.list_kind = names.get("listKind") or names.get("kind", "") + "List"
        r.scale_paths = sub.get("scale")
        out.append(r)
    return out


# --------------------------------------------------------------------------
# defaults
# --------------------------------------------------------------------------


def _pull_policy(image):
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def default_podspec(spec):
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            if not isinstance(c, dict):
                continue
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            if isinstance(c.get("image"), str):
                c.setdefault("imagePullPolicy", _pull_policy(c["image"]))
            c.setdefault("resources", {})
            for p in c.get("ports") or []:
                if isinstance(p, dict):
                    p.setdefault("protocol", "TCP")
            for e in c.get("env") or []:
                vf = e.get("valueFrom") if isinstance(e, dict) else None
                if isinstance(vf, dict) and isinstance(vf.get("fieldRef"), dict):
                    vf["fieldRef"].setdefault("apiVersion", "v1")
    for v in spec.get("volumes") or []:
        if not isinstance(v, dict):
            continue
        for src in ("configMap", "secret"):
            if isinstance(v.get(src), dict):
                v[src].setdefault("defaultMode", 420)
        if isinstance(v.get("projected"), dict):
            v["projected"].setdefault("defaultMode", 420)
        if isinstance(v.get("downwardAPI"), dict):
            v["downwardAPI"].setdefault("defaultMode", 420)


def _template_spec(obj, *path):
    cur = obj
    for p in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def apply_defaults(store, res, obj, old):
    kind = res.kind
    spec = obj.get("spec")
    if res.crd:
        crd_schema_defaults(obj, getattr(res, "schema", None), top=True)
        return
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Service",
                "PersistentVolumeClaim", "Ingress", "HorizontalPodAutoscaler",
                "PodDisruptionBudget", "Pod") and not isinstance(spec, dict):
        spec = obj["spec"] = {}
    if kind == "Deployment":
        spec.setdefault("replicas", 1)
        st = spec.setdefault("strategy", {})
        if isinstance(st, dict):
            st.setdefault("type", "RollingUpdate")
            if st.get("type") == "RollingUpdate":
                ru = st.setdefault("rollingUpdate", {})
                if isinstance(ru, dict):
                    ru.setdefault("maxUnavailable", "25%")
                    ru.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        default_podspec(_template_spec(spec, "template", "spec"))
    elif kind == "StatefulSet":
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        us = spec.setdefault("updateStrategy", {})
        if isinstance(us, dict):
            us.setdefault("type", "RollingUpdate")
            if us.get("type") == "RollingUpdate":
                ru = us.setdefault("rollingUpdate", {})
                if isinstance(ru, dict):
                    ru.setdefault("partition", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("persistentVolumeClaimRetentionPolicy",
                        {"whenDeleted": "Retain", "whenScaled": "Retain"})
        for t in spec.get("volumeClaimTemplates") or []:
            if isinstance(t, dict):
                tspec = t.setdefault("spec", {})
                if isinstance(tspec, dict):
                    tspec.setdefault("volumeMode", "Filesystem")
        default_podspec(_template_spec(spec, "template", "spec"))
    elif kind == "DaemonSet":
        us = spec.setdefault("updateStrategy", {})
        if isinstance(us, dict):
            us.setdefault("type", "RollingUpdate")
            if us.get("type") == "RollingUpdate":
                ru = us.setdefault("rollingUpdate", {})
                if isinstance(ru, dict):
                    ru.setdefault("maxUnavailable", 1)
                    ru.setdefault("maxSurge", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        default_podspec(_template_spec(spec, "template", "spec"))
    elif kind == "ReplicaSet":
        spec.setdefault("replicas", 1)
        default_podspec(_template_spec(spec, "template", "spec"))
    elif kind == "Pod":
        default_podspec(spec)
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
    elif kind == "Job":
        if "completions" not in spec and "parallelism" not in spec:
            spec["completions"] = 1
            spec["parallelism"] = 1
        spec.setdefault("parallelism", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
        if old is None and not spec.get("manualSelector"):
            uid = obj["metadata"]["uid"]
            name = obj["metadata"].get("name", "")
            if "selector" not in spec:
                spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            tmd = spec.setdefault("template", {}).setdefault("metadata", {})
            if isinstance(tmd, dict):
                lab = tmd.setdefault("labels", {})
                if isinstance(lab, dict):
                    lab.setdefault("batch.kubernetes.io/controller-uid", uid)
                    lab.setdefault("batch.kubernetes.io/job-name", name)
                    lab.setdefault("controller-uid", uid)
                    lab.setdefault("job-name", name)
        default_podspec(_template_spec(spec, "template", "spec"))
    elif kind == "CronJob":
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        default_podspec(_template_spec(spec, "jobTemplate", "spec", "template", "spec"))
    elif kind == "Service":
        default_service(store, spec, (old or {}).get("spec") or {})
    elif kind == "PersistentVolumeClaim":
        spec.setdefault("volumeMode", "Filesystem")
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        sd = obj.pop("stringData", None)
        if isinstance(sd, dict) and sd:
            data = obj.setdefault("data", {})
            for k, v in sd.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
    elif kind == "Namespace":
        spec = obj.setdefault("spec", {})
        spec.setdefault("finalizers", ["kubernetes"])
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif kind == "HorizontalPodAutoscaler":
        spec.setdefault("minReplicas", 1)
        if not spec.get("metrics"):
            spec["metrics"] = [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    elif kind == "CustomResourceDefinition":
        spec = obj.setdefault("spec", {})
        spec.setdefault("conversion", {"strategy": "None"})
        names = spec.setdefault("names", {})
        if isinstance(names, dict) and names.get("kind"):
            names.setdefault("singular", names["kind"].lower())
            names.setdefault("listKind", names["kind"] + "List")
        for v in spec.get("versions") or []:
            if isinstance(v, dict):
                v.setdefault("served", True)
                v.setdefault("storage", len(spec.get("versions")) == 1)
        spec.setdefault("scope", "Namespaced")


def crd_schema_defaults(v, schema, top=False):
    """Apply OpenAPI 'default' values of a structural schema (as the apiserver does for CRs)."""
    if not isinstance(schema, dict):
        return
    if isinstance(v, dict):
        props = schema.get("properties") or {}
        for k, ps in props.items():
            if top and k in ("apiVersion", "kind", "metadata"):
                continue
            if k not in v and isinstance(ps, dict) and "default" in ps:
                v[k] = dcopy(ps["default"])
            if k in v:
                crd_schema_defaults(v[k], ps)
        ap = schema.get("additionalProperties")
        if isinstance(ap, dict):
            for k in v:
                if k not in props:
                    crd_schema_defaults(v[k], ap)
    elif isinstance(v, list):
        for x in v:
            crd_schema_defaults(x, schema.get("items"))


def default_service(store, spec, old_spec):
    spec.setdefault("type", "ClusterIP")
    stype = spec["type"]
    spec.setdefault("sessionAffinity", "None")
    old_ports = old_spec.get("ports") or []
    for p in spec.get("ports") or []:
        if not isinstance(p, dict):
            continue
        p.setdefault("protocol", "TCP")
        if "port" in p:
            p.setdefault("targetPort", p["port"])
        if stype in ("NodePort", "LoadBalancer") and "nodePort" not in p:
            for op in old_ports:
                if op.get("port") == p.get("port") and op.get("protocol", "TCP") == p["protocol"] \
                        and op.get("nodePort"):
                    p["nodePort"] = op["nodePort"]
                    break
            else:
                p["nodePort"] = store.alloc_node_port()
    if stype == "ExternalName":
        return
    if "clusterIP" not in spec:
        spec["clusterIP"] = old_spec.get("clusterIP") or store.alloc_cluster_ip()
    if "clusterIPs" not in spec:
        spec["clusterIPs"] = old_spec.get("clusterIPs") or [spec["clusterIP"]]
    if spec.get("clusterIP") != "None":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    else:
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if stype in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if stype == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)


INITIAL_STATUS = {
    "Deployment": {}, "StatefulSet": {"replicas": 0, "availableReplicas": 0}, "DaemonSet": {
        "currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberMisscheduled": 0,
        "numberReady": 0},
    "ReplicaSet": {"replicas": 0}, "Job": {}, "CronJob": {}, "Service": {"loadBalancer": {}},
    "Ingress": {"loadBalancer": {}}, "PersistentVolumeClaim": {"phase": "Pending"},
    "Namespace": {"phase": "Active"}, "HorizontalPodAutoscaler": {"desiredReplicas": 0},
    "PodDisruptionBudget": {"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0,
                            "expectedPods": 0},
    "Pod": {"phase": "Pending", "qosClass": "BestEffort"},
}


# --------------------------------------------------------------------------
# validation (the 422 cases oamlua can trigger)
# --------------------------------------------------------------------------


def selector_matches(sel, labels):
    """metav1.LabelSelector against a label map."""
    labels = labels or {}
    if not isinstance(sel, dict):
        return False
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        op, key, vals = e.get("operator"), e.get("key"), e.get("values") or []
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and key in labels and labels[key] in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def validate_meta(res, md, name_kind):
    errs = []
    name = md.get("name")
    if not name:
        errs.append(f_required("metadata.name", "name or generateName is required"))
    else:
        if name_kind == "dns1035":
            msgs = is_dns1035_label(name)
        elif name_kind == "label":
            msgs = is_dns1123_label(name)
        elif name_kind == "path":
            msgs = []
            if name in (".", ".."):
                msgs.append("may not be '%s'" % name)
            for c in ("/", "%"):
                if c in name:
                    msgs.append("may not contain '%s'" % c)
        else:
            msgs = is_dns1123_subdomain(name)
        for m in msgs:
            errs.append(f_invalid("metadata.name", name, m))
    labels = md.get("labels") or {}
    if isinstance(labels, dict):
        for k in sorted(labels):
            for m in is_qualified_name(k):
                errs.append(f_invalid("metadata.labels", k, m))
            v = labels[k]
            if isinstance(v, str):
                for m in is_label_value(v):
                    errs.append(f_invalid("metadata.labels", v, m))
    ann = md.get("annotations") or {}
    if isinstance(ann, dict):
        total = 0
        for k in sorted(ann):
            for m in is_qualified_name(k.lower()):
                errs.append(f_invalid("metadata.annotations", k, m))
            total += len(k) + len(str(ann[k]))
        if total > 262144:
            errs.append(f_too_long("metadata.annotations", 262144))
    controllers = 0
    for i, o in enumerate(md.get("ownerReferences") or []):
        fp = "metadata.ownerReferences[%d]" % i
        if not isinstance(o, dict):
            continue
        for f in ("apiVersion", "kind", "name", "uid"):
            if not o.get(f):
                if f == "apiVersion":
                    errs.append(f_invalid(fp + ".apiVersion", o.get(f, ""), "version must not be empty"))
                elif f == "kind":
                    errs.append(f_invalid(fp + ".kind", o.get(f, ""), "kind must not be empty"))
                elif f == "name":
                    errs.append(f_invalid(fp + ".name", o.get(f, ""), "name must not be empty"))
                else:
                    errs.append(f_invalid(fp + ".uid", o.get(f, ""), "uid must not be empty"))
        if o.get("controller"):
            controllers += 1
    if controllers > 1:
        errs.append(f_invalid("metadata.ownerReferences", md.get("ownerReferences"),
                              "Only one reference can have Controller set to true"))
    for i, f in enumerate(md.get("finalizers") or []):
        if isinstance(f, str) and "/" not in f and f not in ("kubernetes", "orphan", "foregroundDeletion"):
            errs.append(f_invalid("metadata.finalizers[%d]" % i, f,
                                  "name is neither a standard finalizer name nor is it fully qualified"))
    return errs


def validate_podspec(spec, fp, allowed_restart):
    errs = []
    if not isinstance(spec, dict):
        return [f_required(fp + ".containers")]
    vols = set()
    for i, v in enumerate(spec.get("volumes") or []):
        if not isinstance(v, dict):
            continue
        n = v.get("name")
        if not n:
            errs.append(f_required("%s.volumes[%d].name" % (fp, i)))
        else:
            for m in is_dns1123_label(n):
                errs.append(f_invalid("%s.volumes[%d].name" % (fp, i), n, m))
            if n in vols:
                errs.append(f_duplicate("%s.volumes[%d].name" % (fp, i), n))
            vols.add(n)
    containers = spec.get("containers")
    if not containers:
        errs.append(f_required(fp + ".containers"))
    names = set()
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            cp = "%s.%s[%d]" % (fp, key, i)
            if not isinstance(c, dict):
                continue
            n = c.get("name")
            if not n:
                errs.append(f_required(cp + ".name"))
            else:
                for m in is_dns1123_label(n):
                    errs.append(f_invalid(cp + ".name", n, m))
                if n in names:
                    errs.append(f_duplicate(cp + ".name", n))
                names.add(n)
            if not c.get("image"):
                errs.append(f_required(cp + ".image"))
            ipp = c.get("imagePullPolicy")
            if ipp is not None and ipp not in ("Always", "IfNotPresent", "Never"):
                errs.append(f_not_supported(cp + ".imagePullPolicy", ipp, ["Always", "IfNotPresent", "Never"]))
            pnames = set()
            for j, p in enumerate(c.get("ports") or []):
                pp = "%s.ports[%d]" % (cp, j)
                if not isinstance(p, dict):
                    continue
                cport = p.get("containerPort")
                if not cport:
                    errs.append(f_required(pp + ".containerPort"))
                elif is_int(cport) and not 1 <= cport <= 65535:
                    errs.append(f_invalid(pp + ".containerPort", cport, "must be between 1 and 65535, inclusive"))
                if p.get("name"):
                    for m in is_port_name(p["name"]):
                        errs.append(f_invalid(pp + ".name", p["name"], m))
                    if p["name"] in pnames:
                        errs.append(f_duplicate(pp + ".name", p["name"]))
                    pnames.add(p["name"])
                proto = p.get("protocol")
                if proto is not None and proto not in ("TCP", "UDP", "SCTP"):
                    errs.append(f_not_supported(pp + ".protocol", proto, ["SCTP", "TCP", "UDP"]))
            for j, e in enumerate(c.get("env") or []):
                if isinstance(e, dict) and not e.get("name"):
                    errs.append(f_required("%s.env[%d].name" % (cp, j)))
            for j, vm in enumerate(c.get("volumeMounts") or []):
                if not isinstance(vm, dict):
                    continue
                vp = "%s.volumeMounts[%d]" % (cp, j)
                if not vm.get("name"):
                    errs.append(f_required(vp + ".name"))
                elif vm["name"] not in vols:
                    errs.append(FieldError("NotFound", vp + ".name", vm["name"]))
                if not vm.get("mountPath"):
                    errs.append(f_required(vp + ".mountPath"))
    rp = spec.get("restartPolicy")
    if rp is not None and rp not in allowed_restart:
        errs.append(f_not_supported(fp + ".restartPolicy", rp, allowed_restart))
    return errs


def validate_selector_template(spec, kind_word, fp="spec"):
    errs = []
    sel = spec.get("selector")
    if sel is None:
        errs.append(f_required(fp + ".selector"))
        return errs
    if not isinstance(sel, dict) or (not sel.get("matchLabels") and not sel.get("matchExpressions")):
        errs.append(f_invalid(fp + ".selector", None, "empty selector is invalid for %s" % kind_word,
                              raw=go_selector_repr(sel if isinstance(sel, dict) else {})))
        return errs
    for k, v in (sel.get("matchLabels") or {}).items():
        for m in is_qualified_name(k):
            errs.append(f_invalid(fp + ".selector.matchLabels", k, m))
        if isinstance(v, str):
            for m in is_label_value(v):
                errs.append(f_invalid(fp + ".selector.matchLabels", v, m))
    for i, e in enumerate(sel.get("matchExpressions") or []):
        op = e.get("operator") if isinstance(e, dict) else None
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            errs.append(f_not_supported("%s.selector.matchExpressions[%d].operator" % (fp, i), op or "",
                                        ["In", "NotIn", "Exists", "DoesNotExist"]))
        elif op in ("In", "NotIn") and not e.get("values"):
            errs.append(f_required("%s.selector.matchExpressions[%d].values" % (fp, i),
                                   "must be specified when `operator` is 'In' or 'NotIn'"))
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not selector_matches(sel, labels):
        errs.append(f_invalid(fp + ".template.metadata.labels", labels,
                              "`selector` does not match template `labels`"))
    return errs


CRON_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def cron_error(s):
    if not isinstance(s, str):
        return "unparseable schedule"
    t = s.strip()
    if t.startswith("TZ=") or t.startswith("CRON_TZ="):
        return "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
    if t.startswith("@"):
        if t in CRON_DESCRIPTORS or re.fullmatch(r"@every\s+\S+", t):
            return None
        return "unrecognized descriptor: %s" % t
    f = t.split()
    if len(f) != 5:
        return "expected exactly 5 fields, found %d: %s" % (len(f), "[" + " ".join(f) + "]")
    for x in f:
        if not re.fullmatch(r"[0-9A-Za-z*?/,\-]+", x):
            return "failed to parse int from %s" % x
    return None


def validate_object(store, res, obj, old):
    """Returns a list of FieldErrors (422) for obj (old is the live object on update)."""
    kind = res.kind
    md = obj.get("metadata") or {}
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    ospec = (old or {}).get("spec") if isinstance((old or {}).get("spec"), dict) else {}
    name_kind = "subdomain"
    if kind == "Service":
        name_kind = "dns1035"
    elif kind in ("Namespace", "StatefulSet"):
        name_kind = "label"
    elif res.group == "rbac.authorization.k8s.io":
        name_kind = "path"
    errs = validate_meta(res, md, name_kind)
    if old is not None:
        if md.get("deletionTimestamp"):
            oldf = set((old.get("metadata") or {}).get("finalizers") or [])
            for f in md.get("finalizers") or []:
                if f not in oldf:
                    errs.append(f_forbidden("metadata.finalizers",
                                            "no new finalizers can be added if the object is being deleted, "
                                            "found new finalizers []string{%s}" % go_quote(f)))
    if res.crd:
        return errs + validate_cr(res, obj)
    if kind == "CronJob" and old is None and md.get("name") and len(md["name"]) > 52:
        errs.append(f_invalid("metadata.name", md["name"], "must be no more than 52 characters"))
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        word = {"Deployment": "deployment", "StatefulSet": "statefulset", "DaemonSet": "daemonset",
                "ReplicaSet": "deployment"}[kind]
        errs += validate_selector_template(spec, word)
        errs += validate_podspec(_template_spec(spec, "template", "spec"), "spec.template.spec", ["Always"])
        r = spec.get("replicas")
        if is_int(r) and r < 0:
            errs.append(f_invalid("spec.replicas", r, "must be greater than or equal to 0"))
        if kind == "Deployment":
            st = spec.get("strategy") or {}
            if st.get("type") not in ("RollingUpdate", "Recreate"):
                errs.append(f_not_supported("spec.strategy.type", st.get("type", ""), ["Recreate", "RollingUpdate"]))
            elif st.get("type") == "Recreate" and st.get("rollingUpdate") is not None:
                errs.append(f_forbidden("spec.strategy.rollingUpdate",
                                        "may not be specified when strategy `type` is 'Recreate'"))
        if old is not None and "selector" in ospec and spec.get("selector") != ospec.get("selector"):
            errs.append(f_invalid("spec.selector", None, "field is immutable",
                                  raw=go_selector_repr(spec.get("selector") or {})))
        if kind == "StatefulSet" and old is not None:
            allowed = {"replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                       "persistentVolumeClaimRetentionPolicy", "minReadySeconds"}
            a = {k: v for k, v in spec.items() if k not in allowed}
            b = {k: v for k, v in ospec.items() if k not in allowed}
            if a != b:
                errs.append(f_forbidden("spec", "updates to statefulset spec for fields other than 'replicas', "
                                        "'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', "
                                        "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
    elif kind == "Job":
        errs += validate_job_spec(spec, "spec", old is None)
        if old is not None:
            if spec.get("template") != ospec.get("template"):
                errs.append(f_invalid("spec.template", None, "field is immutable",
                                      raw="core.PodTemplateSpec{...}"))
            if spec.get("completions") != ospec.get("completions") and \
                    spec.get("completionMode") != "Indexed":
                errs.append(f_invalid("spec.completions", spec.get("completions"), "field is immutable"))
            if spec.get("selector") != ospec.get("selector"):
                errs.append(f_invalid("spec.selector", None, "field is immutable",
                                      raw=go_selector_repr(spec.get("selector") or {})))
    elif kind == "CronJob":
        if not spec.get("schedule"):
            errs.append(f_required("spec.schedule"))
        else:
            ce = cron_error(spec["schedule"])
            if ce:
                errs.append(f_invalid("spec.schedule", spec["schedule"], ce))
        cp = spec.get("concurrencyPolicy")
        if cp not in ("Allow", "Forbid", "Replace"):
            errs.append(f_not_supported("spec.concurrencyPolicy", cp or "", ["Allow", "Forbid", "Replace"]))
        jt = spec.get("jobTemplate") or {}
        jspec = jt.get("spec") if isinstance(jt.get("spec"), dict) else {}
        if jspec.get("selector") is not None:
            errs.append(f_invalid("spec.jobTemplate.spec.selector", None, "`selector` will be auto-generated",
                                  raw=go_selector_repr(jspec["selector"])))
        errs += validate_podspec(_template_spec(jspec, "template", "spec"),
                                 "spec.jobTemplate.spec.template.spec", ["OnFailure", "Never"])
    elif kind == "Pod":
        errs += validate_podspec(spec, "spec", ["Always", "OnFailure", "Never"])
    elif kind == "Service":
        errs += validate_service(spec, ospec if old is not None else None)
    elif kind in ("ConfigMap", "Secret"):
        seen = set()
        for fld in ("data", "binaryData"):
            for k in sorted(obj.get(fld) or {}):
                for m in is_config_key(k):
                    errs.append(f_invalid("%s[%s]" % (fld, k), k, m))
                if k in seen:
                    errs.append(f_invalid("%s[%s]" % (fld, k), k, "duplicate of key present in data"))
                seen.add(k)
        if old is not None and old.get("immutable"):
            for fld in ("data", "binaryData"):
                if (obj.get(fld) or {}) != (old.get(fld) or {}):
                    errs.append(f_forbidden(fld, "field is immutable when `immutable` is set"))
            if not obj.get("immutable"):
                errs.append(f_forbidden("immutable", "field is immutable when `immutable` is set"))
        if kind == "Secret" and old is not None and obj.get("type") != old.get("type"):
            errs.append(f_invalid("type", obj.get("type"), "field is immutable"))
    elif kind == "PersistentVolumeClaim":
        am = spec.get("accessModes")
        if not am:
            errs.append(f_required("spec.accessModes", "at least 1 access mode is required"))
        for i, m in enumerate(am or []):
            if m not in ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"):
                errs.append(f_not_supported("spec.accessModes", m,
                                            ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]))
        req = ((spec.get("resources") or {}).get("requests") or {})
        if "storage" not in req:
            errs.append(f_required("spec.resources[storage]"))
        if old is not None:
            a = dict(spec)
            b = dict(ospec)
            for d in (a, b):
                d.pop("resources", None)
                d.pop("volumeAttributesClassName", None)
            if a != b:
                errs.append(f_forbidden("spec", "spec is immutable after creation except resources.requests "
                                                "and volumeAttributesClassName for bound claims"))
    elif kind == "Ingress":
        errs += validate_ingress(spec)
    elif kind == "HorizontalPodAutoscaler":
        ref = spec.get("scaleTargetRef") or {}
        if not ref.get("kind"):
            errs.append(f_required("spec.scaleTargetRef.kind"))
        if not ref.get("name"):
            errs.append(f_required("spec.scaleTargetRef.name"))
        mn, mx = spec.get("minReplicas"), spec.get("maxReplicas")
        if is_int(mn) and mn < 1:
            errs.append(f_invalid("spec.minReplicas", mn, "must be greater than or equal to 1"))
        if not is_int(mx) or mx < 1:
            errs.append(f_invalid("spec.maxReplicas", mx if mx is not None else 0, "must be greater than 0"))
        elif is_int(mn) and mx < mn:
            errs.append(f_invalid("spec.maxReplicas", mx, "must be greater than or equal to `minReplicas`"))
        for i, m in enumerate(spec.get("metrics") or []):
            mp = "spec.metrics[%d]" % i
            t = m.get("type") if isinstance(m, dict) else None
            if not t:
                errs.append(f_required(mp + ".type", "must specify a metric source type"))
                continue
            member = {"Resource": "resource", "Pods": "pods", "Object": "object", "External": "external",
                      "ContainerResource": "containerResource"}.get(t)
            if member is None:
                errs.append(f_not_supported(mp + ".type", t, ["ContainerResource", "External", "Object",
                                                              "Pods", "Resource"]))
            elif not m.get(member):
                errs.append(f_required(mp + "." + member, "must populate information for the given metric source"))
            elif t == "Resource":
                tg = (m["resource"].get("target") or {})
                if tg.get("averageUtilization") is not None and tg.get("averageValue") is not None:
                    errs.append(f_forbidden(mp + ".resource.target.averageValue",
                                            "may not set both a target raw value and a target utilization"))
    elif kind == "PodDisruptionBudget":
        if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
            errs.append(f_invalid("spec", None, "minAvailable and maxUnavailable cannot be both set",
                                  raw="policy.PodDisruptionBudgetSpec{...}"))
    elif kind in ("Role", "ClusterRole"):
        for i, r in enumerate(obj.get("rules") or []):
            if isinstance(r, dict) and not r.get("verbs"):
                errs.append(f_required("rules[%d].verbs" % i, "verbs must contain at least one value"))
    elif kind in ("RoleBinding", "ClusterRoleBinding"):
        rr = obj.get("roleRef") or {}
        if not rr.get("name"):
            errs.append(f_required("roleRef.name"))
        if rr.get("kind") not in ("Role", "ClusterRole"):
            errs.append(f_not_supported("roleRef.kind", rr.get("kind", ""), ["ClusterRole", "Role"]))
        if old is not None and obj.get("roleRef") != old.get("roleRef"):
            errs.append(f_invalid("roleRef", None, "cannot change roleRef", raw="rbac.RoleRef{...}"))
    elif kind == "CustomResourceDefinition":
        errs += validate_crd(store, obj, old)
    return errs


def validate_job_spec(spec, fp, creating):
    errs = []
    for f in ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds"):
        v = spec.get(f)
        if is_int(v) and v < 0:
            errs.append(f_invalid("%s.%s" % (fp, f), v, "must be greater than or equal to 0"))
    if spec.get("manualSelector"):
        errs += validate_selector_template(spec, "job", fp)
    else:
        sel = spec.get("selector")
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if isinstance(sel, dict) and not selector_matches(sel, labels):
            errs.append(f_invalid(fp + ".selector", None, "`selector` not auto-generated",
                                  raw=go_selector_repr(sel)))
    errs += validate_podspec(_template_spec(spec, "template", "spec"), fp + ".template.spec",
                             ["OnFailure", "Never"])
    return errs


def validate_service(spec, ospec):
    errs = []
    stype = spec.get("type", "ClusterIP")
    if stype not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        errs.append(f_not_supported("spec.type", stype, ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]))
    ports = spec.get("ports") or []
    headless = spec.get("clusterIP") == "None"
    if stype == "ExternalName":
        if not spec.get("externalName"):
            errs.append(f_required("spec.externalName"))
    elif not ports and not headless:
        errs.append(f_required("spec.ports"))
    names, seen = set(), set()
    for i, p in enumerate(ports):
        pp = "spec.ports[%d]" % i
        if not isinstance(p, dict):
            continue
        if len(ports) > 1 and not p.get("name"):
            errs.append(f_required(pp + ".name"))
        if p.get("name"):
            for m in is_dns1123_label(p["name"]):
                errs.append(f_invalid(pp + ".name", p["name"], m))
            if p["name"] in names:
                errs.append(f_duplicate(pp + ".name", p["name"]))
            names.add(p["name"])
        port = p.get("port")
        if not is_int(port) or not 1 <= port <= 65535:
            errs.append(f_invalid(pp + ".port", port if port is not None else 0,
                                  "must be between 1 and 65535, inclusive"))
        proto = p.get("protocol", "TCP")
        if proto not in ("TCP", "UDP", "SCTP"):
            errs.append(f_not_supported(pp + ".protocol", proto, ["SCTP", "TCP", "UDP"]))
        tp = p.get("targetPort")
        if is_int(tp) and not 1 <= tp <= 65535:
            errs.append(f_invalid(pp + ".targetPort", tp, "must be between 1 and 65535, inclusive"))
        elif isinstance(tp, str):
            for m in is_port_name(tp):
                errs.append(f_invalid(pp + ".targetPort", tp, m))
        if (port, proto) in seen:
            errs.append(f_duplicate(pp, None))
        seen.add((port, proto))
        if p.get("nodePort") is not None and stype == "ClusterIP":
            errs.append(f_forbidden(pp + ".nodePort", "may not be used when `type` is 'ClusterIP'"))
    if ospec is not None and ospec.get("clusterIP") and spec.get("clusterIP") != ospec.get("clusterIP") \
            and stype != "ExternalName" and ospec.get("type") != "ExternalName":
        errs.append(f_invalid("spec.clusterIPs[0]", spec.get("clusterIPs") or [], "may not change once set"))
    return errs


def validate_ingress(spec):
    errs = []
    rules = spec.get("rules")
    if not rules and not spec.get("defaultBackend"):
        errs.append(f_invalid("spec", None, "either `defaultBackend` or `rules` must be specified",
                              raw="[]networking.IngressRule(nil)"))

    def backend(b, fp):
        if not isinstance(b, dict):
            return [f_invalid(fp, "", "resource or service backend is required")]
        if b.get("resource") and b.get("service"):
            return [f_invalid(fp, "", "cannot set both resource and service backends")]
        if b.get("resource"):
            return []
        svc = b.get("service")
        if not isinstance(svc, dict):
            return [f_invalid(fp, "", "resource or service backend is required")]
        out = []
        if not svc.get("name"):
            out.append(f_required(fp + ".service.name"))
        else:
            for m in is_dns1035_label(svc["name"]):
                out.append(f_invalid(fp + ".service.name", svc["name"], m))
        port = svc.get("port") or {}
        if port.get("name") and port.get("number"):
            out.append(f_invalid(fp, "", "cannot set both port name & port number"))
        elif port.get("name"):
            for m in is_port_name(port["name"]):
                out.append(f_invalid(fp + ".service.port.name", port["name"], m))
        elif port.get("number"):
            n = port["number"]
            if is_int(n) and not 1 <= n <= 65535:
                out.append(f_invalid(fp + ".service.port.number", n, "must be between 1 and 65535, inclusive"))
        else:
            out.append(f_required(fp, "port name or number is required"))
        return out

    if spec.get("defaultBackend") is not None:
        errs += backend(spec["defaultBackend"], "spec.defaultBackend")
    for i, r in enumerate(rules or []):
        rp = "spec.rules[%d]" % i
        if not isinstance(r, dict):
            continue
        host = r.get("host")
        if host:
            h = host[2:] if host.startswith("*.") else host
            for m in is_dns1123_subdomain(h):
                errs.append(f_invalid(rp + ".host", host, m))
        http = r.get("http")
        if http is None:
            continue
        paths = http.get("paths") if isinstance(http, dict) else None
        if not paths:
            errs.append(f_required(rp + ".http.paths"))
        for j, p in enumerate(paths or []):
            pp = "%s.http.paths[%d]" % (rp, j)
            if not isinstance(p, dict):
                continue
            pt = p.get("pathType")
            if pt is None:
                errs.append(f_required(pp + ".pathType", "pathType must be specified"))
            elif pt not in ("Exact", "Prefix", "ImplementationSpecific"):
                errs.append(f_not_supported(pp + ".pathType", pt, ["Exact", "ImplementationSpecific", "Prefix"]))
            path = p.get("path", "")
            if pt in ("Exact", "Prefix"):
                if not path.startswith("/"):
                    errs.append(f_invalid(pp + ".path", path, "must be an absolute path"))
            elif path and not path.startswith("/"):
                errs.append(f_invalid(pp + ".path", path, "must be an absolute path"))
            errs += backend(p.get("backend"), pp + ".backend")
    for i, t in enumerate(spec.get("tls") or []):
        for j, h in enumerate((t or {}).get("hosts") or []):
            hh = h[2:] if isinstance(h, str) and h.startswith("*.") else h
            for m in is_dns1123_subdomain(hh or ""):
                errs.append(f_invalid("spec.tls[%d].hosts[%d]" % (i, j), h, m))
    return errs


def validate_crd(store, obj, old):
    errs = []
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group") or ""
    md = obj.get("metadata") or {}
    if not group:
        errs.append(f_required("spec.group"))
    elif "." not in group:
        errs.append(f_invalid("spec.group", group, "should be a domain with at least one dot"))
    else:
        for m in is_dns1123_subdomain(group):
            errs.append(f_invalid("spec.group", group, m))
    if not names.get("plural"):
        errs.append(f_required("spec.names.plural"))
    if not names.get("kind"):
        errs.append(f_required("spec.names.kind"))
    if names.get("plural") and group and md.get("name") != "%s.%s" % (names["plural"], group):
        errs.append(f_invalid("metadata.name", md.get("name"), "must be spec.names.plural+\".\"+spec.group"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        errs.append(f_not_supported("spec.scope", spec.get("scope", ""), ["Cluster", "Namespaced"]))
    versions = spec.get("versions") or []
    if not versions:
        errs.append(f_invalid("spec.versions", versions, "must have exactly one version marked as storage version"))
    elif sum(1 for v in versions if isinstance(v, dict) and v.get("storage")) != 1:
        errs.append(f_invalid("spec.versions", None, "must have exactly one version marked as storage version",
                              raw="[]apiextensions.CustomResourceDefinitionVersion{...}"))
    seen = set()
    for i, v in enumerate(versions):
        if not isinstance(v, dict):
            continue
        if not v.get("name"):
            errs.append(f_required("spec.versions[%d].name" % i))
        elif v["name"] in seen:
            errs.append(f_invalid("spec.versions", None, "must contain unique version names",
                                  raw="[]apiextensions.CustomResourceDefinitionVersion{...}"))
        seen.add(v.get("name"))
        sch = (v.get("schema") or {}).get("openAPIV3Schema")
        if not isinstance(sch, dict):
            errs.append(f_required("spec.versions[%d].schema.openAPIV3Schema" % i, "schemas are required"))
        elif sch.get("type") != "object":
            errs.append(f_invalid("spec.versions[%d].schema.openAPIV3Schema.type" % i, sch.get("type", ""),
                                  "must be object at the root"))
    if old is not None:
        ospec = old.get("spec") or {}
        if ospec.get("group") != spec.get("group"):
            errs.append(f_invalid("spec.group", spec.get("group"), "field is immutable"))
        if ospec.get("scope") != spec.get("scope"):
            errs.append(f_invalid("spec.scope", spec.get("scope"), "field is immutable"))
    # name clashes with other resources of the same group
    if not errs and group and names.get("plural"):
        for r in store.registry.all():
            if r.group == group and r.resource == names["plural"] and r.crd != md.get("name"):
                errs.append(f_invalid("spec.names.plural", names["plural"], "is already in use"))
                break
    return errs


def validate_cr(res, obj):
    """A subset of OpenAPI v3 schema validation for custom resources."""
    errs = []
    schema = getattr(res, "schema", None)
    if not isinstance(schema, dict):
        return errs

    def walk(v, s, fp):
        if not isinstance(s, dict) or v is None:
            return
        t = s.get("type")
        if s.get("x-kubernetes-int-or-string"):
            if not (isinstance(v, str) or is_int(v)):
                errs.append(f_invalid(fp, json_type_name(v), "%s in body must be of type int-or-string: %s"
                                      % (fp, go_quote(json_type_name(v)))))
            return
        ok = {"object": isinstance(v, dict), "array": isinstance(v, list), "string": isinstance(v, str),
              "integer": is_int(v) or (isinstance(v, float) and v == int(v)),
              "number": is_num(v), "boolean": isinstance(v, bool)}.get(t, True)
        if not ok:
            errs.append(f_invalid(fp, json_type_name(v) if json_type_name(v) != "bool" else "boolean",
                                  "%s in body must be of type %s: %s" % (
                                      fp, t, go_quote(json_type_name(v) if json_type_name(v) != "bool"
                                                      else "boolean"))))
            return
        if "enum" in s and v not in s["enum"]:
            errs.append(f_not_supported(fp, v, [str(x) for x in s["enum"]]))
        if is_num(v):
            if "minimum" in s and (v < s["minimum"] or (s.get("exclusiveMinimum") and v == s["minimum"])):
                errs.append(f_invalid(fp, v, "%s in body should be greater than or equal to %s" % (fp, s["minimum"])))
            if "maximum" in s and (v > s["maximum"] or (s.get("exclusiveMaximum") and v == s["maximum"])):
                errs.append(f_invalid(fp, v, "%s in body should be less than or equal to %s" % (fp, s["maximum"])))
        if isinstance(v, str):
            if "maxLength" in s and len(v) > s["maxLength"]:
                errs.append(f_too_long(fp, s["maxLength"]))
            if "minLength" in s and len(v) < s["minLength"]:
                errs.append(f_invalid(fp, v, "%s in body should be at least %d chars long" % (fp, s["minLength"])))
            if "pattern" in s:
                try:
                    if not re.search(s["pattern"], v):
                        errs.append(f_invalid(fp, v, "%s in body should match '%s'" % (fp, s["pattern"])))
                except re.error:
                    pass
        if isinstance(v, list):
            if "maxItems" in s and len(v) > s["maxItems"]:
                errs.append(FieldError("TooMany", fp, raw_value="%d" % len(v),
                                       detail="must have at most %d items" % s["maxItems"]))
            if "minItems" in s and len(v) < s["minItems"]:
                errs.append(f_invalid(fp, len(v), "%s in body should have at least %d items" % (fp, s["minItems"])))
            for i, x in enumerate(v):
                walk(x, s.get("items"), "%s[%d]" % (fp, i))
        if isinstance(v, dict):
            for r in s.get("required") or []:
                if r not in v:
                    errs.append(f_required((fp + "." if fp else "") + r))
            props = s.get("properties") or {}
            ap = s.get("additionalProperties")
            for k, x in v.items():
                if fp == "" and k in ("apiVersion", "kind", "metadata"):
                    continue
                sub = (fp + "." + k) if fp else k
                if k in props:
                    walk(x, props[k], sub)
                elif isinstance(ap, dict):
                    walk(x, ap, sub)

    walk(obj, schema, "")
    return errs


# --------------------------------------------------------------------------
# selectors
# --------------------------------------------------------------------------


def _split_top(s, sep=","):
    out, depth, cur = [], 0, ""
    for c in s:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == sep and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += c
    out.append(cur)
    return out


def parse_label_selector(s):
    reqs = []
    if s is None or not s.strip():
        return reqs
    for part in _split_top(s):
        p = part.strip()
        if not p:
            raise err_bad_request("unable to parse requirement: found '', expected: identifier")
        m = re.fullmatch(r"(\S+)\s+(in|notin)\s*\(([^)]*)\)", p)
        if m:
            reqs.append((m.group(1), m.group(2), [v.strip() for v in m.group(3).split(",")]))
            continue
        m = re.fullmatch(r"!\s*(\S+)", p)
        if m:
            reqs.append((m.group(1), "!", None))
            continue
        m = re.fullmatch(r"([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(\S*)", p)
        if m:
            op = {"==": "=", "=": "="}.get(m.group(2), m.group(2))
            if op in (">", "<"):
                try:
                    int(m.group(3))
                except ValueError:
                    raise err_bad_request("unable to parse requirement: for 'Gt', 'Lt' operators, the value "
                                          "must be an integer")
            reqs.append((m.group(1), op, m.group(3)))
            continue
        m = re.fullmatch(r"[A-Za-z0-9./_-]+", p)
        if m:
            reqs.append((p, "exists", None))
            continue
        raise err_bad_request("unable to parse requirement: found '%s', expected: in, notin, =, ==, !=, gt, "
                              "lt" % p)
    for key, _, vals in reqs:
        msgs = is_qualified_name(key)
        if msgs:
            raise err_bad_request("unable to parse requirement: values[0][%s]: Invalid value: %s: %s"
                                  % (key, go_quote(key), msgs[0]))
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, val in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "=" and v != val:
            return False
        if op == "!=" and has and v == val:
            return False
        if op == "in" and (not has or v not in val):
            return False
        if op == "notin" and has and v in val:
            return False
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
        if op in (">", "<"):
            try:
                n = int(v)
            except (TypeError, ValueError):
                return False
            if op == ">" and not n > int(val):
                return False
            if op == "<" and not n < int(val):
                return False
    return True


FIELD_SELECTORS = {
    "Pod": ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
            "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"],
    "Secret": ["type"], "Event": ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                                  "involvedObject.uid", "involvedObject.apiVersion",
                                  "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                                  "reportingComponent", "source", "type"],
    "Namespace": ["status.phase"], "Job": ["status.successful"], "ReplicaSet": ["status.replicas"],
}


def parse_field_selector(s, res):
    reqs = []
    if not s:
        return reqs
    for part in s.split(","):
        p = part.strip()
        if not p:
            continue
        m = re.fullmatch(r"([^=!]+?)\s*(==|=|!=)\s*(.*)", p)
        if not m:
            raise err_bad_request("invalid selector: '%s'; can't understand '%s'" % (s, p))
        field, op, val = m.group(1), m.group(2), m.group(3)
        allowed = ["metadata.name", "metadata.namespace"] + FIELD_SELECTORS.get(res.kind, [])
        if field not in allowed:
            if res.crd:
                raise err_bad_request('"%s" is not a known field selector: only "metadata.name", '
                                      '"metadata.namespace"' % field)
            raise err_bad_request("field label not supported: %s" % field)
        reqs.append((field, "!=" if op == "!=" else "=", val))
    return reqs


def fields_match(reqs, obj):
    for field, op, val in reqs:
        cur = obj
        for part in field.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if field == "source" and isinstance(cur, dict):
            cur = cur.get("component")
        sval = "" if cur is None else (("true" if cur else "false") if isinstance(cur, bool) else str(cur))
        if op == "=" and sval != val:
            return False
        if op == "!=" and sval == val:
            return False
    return True


# --------------------------------------------------------------------------
# patches
# --------------------------------------------------------------------------


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return dcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


class JsonPatchError(Exception):
    pass


def _ptr_parts(ptr):
    if ptr == "":
        return []
    if not ptr.startswith("/"):
        raise JsonPatchError("invalid JSON pointer: %s" % ptr)
    return [p.replace("~1", "/").replace("~0", "~") for p in ptr[1:].split("/")]


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise ValueError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = dcopy(doc)

    def parent(parts):
        cur = doc
        for p in parts[:-1]:
            if isinstance(cur, list):
                try:
                    cur = cur[int(p)]
                except (ValueError, IndexError):
                    raise JsonPatchError("doc is missing path: %s" % "/" + "/".join(parts))
            elif isinstance(cur, dict) and p in cur:
                cur = cur[p]
            else:
                raise JsonPatchError("doc is missing path: /%s: missing value" % "/".join(parts))
        return cur

    def get(parts):
        cur = doc
        for p in parts:
            if isinstance(cur, list):
                try:
                    cur = cur[int(p)]
                except (ValueError, IndexError):
                    raise JsonPatchError("doc is missing path: /%s" % "/".join(parts))
            elif isinstance(cur, dict) and p in cur:
                cur = cur[p]
            else:
                raise JsonPatchError("doc is missing path: /%s" % "/".join(parts))
        return cur

    def add(parts, val, replace=False):
        nonlocal doc
        if not parts:
            doc = val
            return
        par = parent(parts)
        last = parts[-1]
        if isinstance(par, list):
            if last == "-":
                par.append(val)
                return
            try:
                i = int(last)
            except ValueError:
                raise JsonPatchError("invalid index %s" % last)
            if replace:
                if i >= len(par):
                    raise JsonPatchError("replace operation does not apply: doc is missing key: /%s"
                                         % "/".join(parts))
                par[i] = val
            else:
                if i > len(par):
                    raise JsonPatchError("add operation does not apply: index out of bounds")
                par.insert(i, val)
        elif isinstance(par, dict):
            if replace and last not in par:
                raise JsonPatchError("replace operation does not apply: doc is missing key: /%s"
                                     % "/".join(parts))
            par[last] = val
        else:
            raise JsonPatchError("doc is missing path: /%s" % "/".join(parts))

    def remove(parts):
        par = parent(parts)
        last = parts[-1]
        if isinstance(par, list):
            try:
                return par.pop(int(last))
            except (ValueError, IndexError):
                raise JsonPatchError("remove operation does not apply: doc is missing path: /%s"
                                     % "/".join(parts))
        if isinstance(par, dict) and last in par:
            return par.pop(last)
        raise JsonPatchError("remove operation does not apply: doc is missing path: \"/%s\""
                             % "/".join(parts))

    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise ValueError("unexpected kind of operation")
        o = op["op"]
        parts = _ptr_parts(op.get("path", ""))
        if o == "add":
            add(parts, dcopy(op.get("value")))
        elif o == "remove":
            remove(parts)
        elif o == "replace":
            add(parts, dcopy(op.get("value")), replace=True)
        elif o == "move":
            v = remove(_ptr_parts(op.get("from", "")))
            add(parts, v)
        elif o == "copy":
            add(parts, dcopy(get(_ptr_parts(op.get("from", "")))))
        elif o == "test":
            if get(parts) != op.get("value"):
                raise JsonPatchError("testing value /%s failed: test failed" % "/".join(parts))
        else:
            raise ValueError("Unexpected kind: %s" % o)
    return doc


def strategic_merge(target, patch, n):
    """Strategic merge patch: a merge patch where list-maps merge by key and $patch directives work."""
    if not isinstance(patch, dict):
        return dcopy(patch)
    if patch.get("$patch") == "replace":
        p = dict(patch)
        p.pop("$patch")
        return strip_nulls(p)
    if patch.get("$patch") == "delete":
        return None
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k == "$retainKeys":
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            f = k.split("/", 1)[1]
            if isinstance(out.get(f), list):
                out[f] = [x for x in out[f] if x not in (v or [])]
            continue
        c = n.child(k) if n is not None else ANY
        c = c or ANY
        if v is None:
            out.pop(k, None)
        elif isinstance(v, list) and c.kind == "list" and c.ltype == "map" and isinstance(out.get(k), list):
            cur = [dcopy(x) for x in out[k]]
            for item in v:
                if not isinstance(item, dict):
                    continue
                key = item_key(c, {kk: vv for kk, vv in item.items() if not kk.startswith("$")})
                idx = next((i for i, it in enumerate(cur) if _match_key(it, key)), None)
                if item.get("$patch") == "delete":
                    if idx is not None:
                        del cur[idx]
                    continue
                if idx is None:
                    cur.append(strip_nulls({kk: vv for kk, vv in item.items() if not kk.startswith("$")}))
                else:
                    cur[idx] = strategic_merge(cur[idx], item, c.elem)
            out[k] = cur
        elif isinstance(v, list) and c.kind == "list" and c.ltype == "set" and isinstance(out.get(k), list):
            cur = list(out[k])
            for x in v:
                if x not in cur:
                    cur.append(x)
            out[k] = cur
        elif isinstance(v, dict) and not (c.kind in ("struct",) and c.atomic):
            r = strategic_merge(out.get(k), v, c)
            if r is None:
                out.pop(k, None)
            else:
                out[k] = r
        else:
            out[k] = strip_nulls(v)
    return out


# --------------------------------------------------------------------------
# registry and store
# --------------------------------------------------------------------------


class Registry(object):
    def __init__(self):
        self.builtins = builtin_resources()
        self.crd_res = []
        self.generation = 0
        self._cache = {}           # answers of lookup/groups; cleared when the resources change

    def rebuild(self, crds):
        out = []
        for crd in crds:
            if (crd.get("metadata") or {}).get("deletionTimestamp"):
                continue
            try:
                out.extend(resources_from_crd(crd))
            except Exception:
                traceback.print_exc()
        self.crd_res = out
        self.generation += 1
        self._cache = {}

    def all(self):
        return self.builtins + self.crd_res

    def lookup(self, group, version, resource):
        # Every request asks: a dict, not a scan of all resources.
        cache = self._cache
        key = ("lookup", group, version, resource)
        if key in cache:
            return cache[key]
        found = None
        for r in self.all():
            if r.group == group and r.version == version and r.resource == resource:
                found = r
                break
        cache[key] = found
        return found

    def storage(self, group, resource):
        cands = [r for r in self.all() if r.group == group and r.resource == resource]
        for r in cands:
            if r.version == r.storage_version:
                return r
        return cands[0] if cands else None

    def by_kind(self, api_version, kind):
        for r in self.all():
            if r.gv == api_version and r.kind == kind:
                return r
        return None

    def groups(self):
        """[(group, [versions...] preferred first)] in discovery order."""
        cache = self._cache
        if "groups" not in cache:
            cache["groups"] = self._groups()
        return cache["groups"]

    def _groups(self):
        order = []
        seen = {}
        for r in self.all():
            if r.group not in seen:
                seen[r.group] = []
                order.append(r.group)
            if r.version not in seen[r.group]:
                if r.preferred:
                    seen[r.group].insert(0, r.version)
                else:
                    seen[r.group].append(r.version)
        builtin = [g for g in GROUP_ORDER if g in seen]
        rest = sorted(g for g in order if g not in GROUP_ORDER)
        return [(g, seen[g]) for g in builtin + rest]

    def resources_in(self, group, version):
        return [r for r in self.all() if r.group == group and r.version == version]


class Store(object):
    def __init__(self, state_file=None):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.objects = {}          # (group, resource, ns, name) -> stored object
        self.rv = 0
        self.events = deque(maxlen=20000)
        self.registry = Registry()
        self.state_file = state_file
        self.used_ips = set()
        self.used_node_ports = set()
        self.closing = False

    # ---- allocation
    def alloc_cluster_ip(self):
        for _ in range(100000):
            ip = "10.96.%d.%d" % (random.randint(0, 255), random.randint(2, 254))
            if ip not in self.used_ips:
                self.used_ips.add(ip)
                return ip
        raise err_internal("cluster IP range exhausted")

    def alloc_node_port(self):
        for _ in range(100000):
            p = random.randint(30000, 32767)
            if p not in self.used_node_ports:
                self.used_node_ports.add(p)
                return p
        raise err_internal("node port range exhausted")

    # ---- access
    @staticmethod
    def key(res, ns, name):
        return (res.group, res.resource, ns if res.namespaced else "", name)

    def get(self, res, ns, name):
        return self.objects.get(self.key(res, ns, name))

    def list(self, res, ns=None):
        out = []
        for (g, r, n, _), obj in self.objects.items():
            if g == res.group and r == res.resource and (ns is None or n == ns):
                out.append(obj)
        out.sort(key=lambda o: ((o["metadata"].get("namespace") or ""), o["metadata"]["name"]))
        return out

    def namespace(self, name):
        return self.objects.get(("", "namespaces", "", name))

    def next_rv(self):
        self.rv += 1
        return self.rv

    def put(self, res, obj, old):
        md = obj["metadata"]
        md["resourceVersion"] = str(self.next_rv())
        k = self.key(res, md.get("namespace", ""), md["name"])
        self.objects[k] = obj
        self._event("ADDED" if old is None else "MODIFIED", res, obj, old)
        if res.kind == "CustomResourceDefinition":
            self.rebuild_crds()
        self._track_alloc(obj)
        self.persist()

    def remove(self, res, obj):
        md = obj["metadata"]
        k = self.key(res, md.get("namespace", ""), md["name"])
        if k not in self.objects:
            return
        del self.objects[k]
        gone = dcopy(obj)
        gone["metadata"]["resourceVersion"] = str(self.next_rv())
        self._event("DELETED", res, gone, obj)
        if res.kind == "CustomResourceDefinition":
            self.rebuild_crds()
        self.persist()

    def rebuild_crds(self):
        crds = [o for (g, r, _, _), o in self.objects.items()
                if g == "apiextensions.k8s.io" and r == "customresourcedefinitions"
                and is_established(o)]
        self.registry.rebuild(crds)

    def _track_alloc(self, obj):
        if obj.get("kind") == "Service":
            spec = obj.get("spec") or {}
            if spec.get("clusterIP"):
                self.used_ips.add(spec["clusterIP"])
            for p in spec.get("ports") or []:
                if isinstance(p, dict) and p.get("nodePort"):
                    self.used_node_ports.add(p["nodePort"])

    def _event(self, etype, res, obj, old):
        # Stored objects are never changed in place (every write stores a new
        # tree), so the history shares them, as it always did for `old`.
        self.events.append((self.rv, etype, res.skey, obj, old))
        self.cond.notify_all()

    # ---- persistence
    def persist(self):
        if not self.state_file:
            return
        data = {"rv": self.rv, "objects": list(self.objects.values())}
        tmp = "%s.tmp.%d" % (self.state_file, os.getpid())
        with open(tmp, "w") as f:
            json.dump(data, f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state_file)

    def load(self):
        if not self.state_file or not os.path.exists(self.state_file):
            return False
        with open(self.state_file) as f:
            data = json.load(f)
        self.rv = int(data.get("rv", 0))
        objs = data.get("objects") or []
        # CRDs first so their resources resolve
        objs.sort(key=lambda o: 0 if o.get("kind") == "CustomResourceDefinition" else 1)
        for o in objs:
            if o.get("kind") == "CustomResourceDefinition":
                self.objects[("apiextensions.k8s.io", "customresourcedefinitions", "",
                              o["metadata"]["name"])] = o
        self.rebuild_crds()
        for o in objs:
            api_version, kind = o.get("apiVersion", ""), o.get("kind", "")
            res = self.registry.by_kind(api_version, kind)
            if res is None:
                sys.stderr.write("kubetest: state: dropping unknown %s %s\n" % (api_version, kind))
                continue
            self.objects[self.key(res, o["metadata"].get("namespace", ""), o["metadata"]["name"])] = o
            self._track_alloc(o)
        return True


def is_established(crd):
    for c in ((crd.get("status") or {}).get("conditions") or []):
        if c.get("type") == "Established" and c.get("status") == "True":
            return True
    return False


# --------------------------------------------------------------------------
# the API semantics
# --------------------------------------------------------------------------


class Ctx(object):
    def __init__(self, user="system:anonymous", groups=(), query=None, ua="", headers=None):
        self.user = user
        self.groups = list(groups)
        self.query = query or {}
        self.ua = ua
        self.headers = headers or {}
        self.warnings = []
        self.dry_run = False

    def q(self, name, default=None):
        v = self.query.get(name)
        return v[0] if v else default


def filter_paths_sub(paths, sub, has_status):
    if sub == "scale":
        return {p for p in paths if p[:2] == ("f:spec", "f:replicas")}
    return filter_paths(paths, sub, has_status)


def _cmp_obj(obj):
    # Only compared, never changed: copy the two levels it edits, not the tree.
    o = dict(obj)
    md = o.get("metadata")
    if md:
        md = o["metadata"] = dict(md)
        md.pop("managedFields", None)
        md.pop("resourceVersion", None)
    return o


def _cmp_mf(mf):
    return [{k: v for k, v in e.items() if k != "time"} for e in (mf or [])]


def scale_selector_string(sel):
    parts = []
    if not isinstance(sel, dict):
        return ""
    for k in sorted(sel.get("matchLabels") or {}):
        parts.append("%s=%s" % (k, sel["matchLabels"][k]))
    for e in sel.get("matchExpressions") or []:
        op = e.get("operator")
        if op == "In":
            parts.append("%s in (%s)" % (e.get("key"), ",".join(sorted(e.get("values") or []))))
        elif op == "NotIn":
            parts.append("%s notin (%s)" % (e.get("key"), ",".join(sorted(e.get("values") or []))))
        elif op == "Exists":
            parts.append(e.get("key"))
        elif op == "DoesNotExist":
            parts.append("!" + e.get("key"))
    return ",".join(parts)


def _jsonpath_get(obj, path):
    cur = obj
    for p in (path or "").strip(".").split("."):
        if not p:
            continue
        cur = cur.get(p) if isinstance(cur, dict) else None
    return cur


def _jsonpath_set(obj, path, val):
    parts = [p for p in (path or "").strip(".").split(".") if p]
    cur = obj
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = val


def ready_status(res, obj):
    """The status a controller would write once the object has fully rolled out."""
    spec = obj.get("spec") or {}
    gen = obj["metadata"].get("generation", 1)
    now = now_ts()
    name = obj["metadata"]["name"]
    h = hashlib.sha256(jdump(spec.get("template") or {}).encode()).hexdigest()[:10]
    k = res.kind
    if k == "Deployment":
        r = spec.get("replicas", 1)
        st = {"observedGeneration": gen, "replicas": r, "updatedReplicas": r, "readyReplicas": r,
              "availableReplicas": r, "conditions": [
                  {"type": "Available", "status": "True", "lastUpdateTime": now, "lastTransitionTime": now,
                   "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
                  {"type": "Progressing", "status": "True", "lastUpdateTime": now, "lastTransitionTime": now,
                   "reason": "NewReplicaSetAvailable",
                   "message": 'ReplicaSet "%s-%s" has successfully progressed.' % (name, h[:10])}]}
        if r == 0:
            for f in ("readyReplicas", "availableReplicas", "updatedReplicas"):
                st.pop(f)
        return st
    if k == "StatefulSet":
        r = spec.get("replicas", 1)
        rev = "%s-%s" % (name, h)
        return {"observedGeneration": gen, "replicas": r, "readyReplicas": r, "currentReplicas": r,
                "updatedReplicas": r, "availableReplicas": r, "currentRevision": rev,
                "updateRevision": rev, "collisionCount": 0}
    if k == "DaemonSet":
        return {"observedGeneration": gen, "desiredNumberScheduled": 1, "currentNumberScheduled": 1,
                "numberReady": 1, "updatedNumberScheduled": 1, "numberAvailable": 1,
                "numberMisscheduled": 0}
    if k == "ReplicaSet":
        r = spec.get("replicas", 1)
        return {"observedGeneration": gen, "replicas": r, "fullyLabeledReplicas": r, "readyReplicas": r,
                "availableReplicas": r}
    if k == "Job":
        c = spec.get("completions") or 1
        return {"startTime": now, "completionTime": now, "succeeded": c, "ready": 0, "terminating": 0,
                "uncountedTerminatedPods": {}, "conditions": [
                    {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": now,
                     "lastTransitionTime": now, "reason": "CompletionsReached",
                     "message": "Reached expected number of succeeded pods"},
                    {"type": "Complete", "status": "True", "lastProbeTime": now, "lastTransitionTime": now,
                     "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"}]}
    if k == "PersistentVolumeClaim":
        req = ((spec.get("resources") or {}).get("requests") or {})
        return {"phase": "Bound", "accessModes": spec.get("accessModes") or [],
                "capacity": {"storage": req.get("storage", "1Gi")}}
    if k == "Service" and spec.get("type") == "LoadBalancer":
        return {"loadBalancer": {"ingress": [{"ip": "192.0.2.10", "ipMode": "VIP"}]}}
    if k == "Ingress":
        return {"loadBalancer": {"ingress": [{"ip": "192.0.2.20"}]}}
    if k == "Pod":
        return {"phase": "Running", "conditions": [{"type": "Ready", "status": "True",
                                                    "lastProbeTime": None, "lastTransitionTime": now}],
                "qosClass": "BestEffort", "startTime": now}
    return None


META_ORDER = ["name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
              "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
              "ownerReferences", "finalizers", "managedFields"]


def order_obj(obj):
    """Key order as the Go encoder writes typed objects: kind, apiVersion, metadata, ..., status."""
    if not isinstance(obj, dict):
        return obj
    out = {}
    for k in ("kind", "apiVersion"):
        if k in obj:
            out[k] = obj[k]
    if isinstance(obj.get("metadata"), dict):
        md = obj["metadata"]
        out["metadata"] = {k: md[k] for k in META_ORDER if k in md}
        out["metadata"].update({k: v for k, v in md.items() if k not in out["metadata"]})
    for k, v in obj.items():
        if k not in out and k != "status":
            out[k] = v
    if "status" in obj:
        out["status"] = obj["status"]
    return out


class Api(object):
    def __init__(self, store, auto_status=False, auto_status_delay=0.0):
        self.store = store
        self.auto_status = auto_status
        self.auto_status_delay = auto_status_delay

    # ---- helpers
    @staticmethod
    def in_version(res, obj):
        o = dcopy(obj)
        o["apiVersion"] = res.gv
        return o

    @staticmethod
    def to_storage(res, obj):
        o = dcopy(obj)
        o["apiVersion"] = res.storage_gv
        return o

    def check_dry_run(self, ctx, opts_kind):
        vals = ctx.query.get("dryRun") or []
        for v in vals:
            if v != "All":
                msg = 'Unsupported value: %s: supported values: "All"' % go_repr(vals)
                raise ApiError(422, "Invalid", '%s.meta.k8s.io "" is invalid: dryRun: %s' % (opts_kind, msg),
                               {"group": "meta.k8s.io", "kind": opts_kind, "causes": [
                                   {"reason": "FieldValueNotSupported", "message": msg, "field": "dryRun"}]})
        ctx.dry_run = bool(vals)

    def field_manager(self, ctx, opts_kind, required=False):
        fm = ctx.q("fieldManager")
        if fm is None or fm == "":
            if required:
                raise ApiError(422, "Invalid", '%s.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                               'is required for apply patch' % opts_kind,
                               {"group": "meta.k8s.io", "kind": opts_kind, "causes": [
                                   {"reason": "FieldValueRequired",
                                    "message": "Required value: is required for apply patch",
                                    "field": "fieldManager"}]})
            fm = (ctx.ua or "unknown").split("/")[0] or "unknown"
        elif len(fm) > 128:
            raise ApiError(422, "Invalid", '%s.meta.k8s.io "" is invalid: fieldManager: Too long: may not be '
                                           'more than 128 bytes' % opts_kind,
                           {"group": "meta.k8s.io", "kind": opts_kind, "causes": [
                               {"reason": "FieldValueTooLong", "message": "Too long: may not be more than 128 bytes",
                                "field": "fieldManager"}]})
        return fm

    def field_validation(self, ctx):
        fv = ctx.q("fieldValidation", "Warn") or "Warn"
        if fv not in ("Ignore", "Warn", "Strict"):
            raise err_bad_request("fieldValidation must be one of Ignore, Warn, or Strict, got %s" % fv)
        return fv

    def decode_body(self, ctx, res, obj, verb_kind="create"):
        """Go-decoder emulation: unknown fields per fieldValidation, type errors -> 400."""
        fv = self.field_validation(ctx)
        unknown, terr, pruned = decode_check(obj, res.node)
        if res.crd:
            terr = None  # unstructured: the schema validation (422) reports wrong types
        prefix = '%s in version "%s" cannot be handled as a %s: ' % (res.kind, res.version, res.kind)
        if terr:
            raise err_bad_request(prefix + terr)
        if unknown:
            if fv == "Strict":
                raise err_bad_request(prefix + "strict decoding error: " +
                                      ", ".join('unknown field "%s"' % u for u in unknown))
            if fv == "Warn":
                ctx.warnings.extend('unknown field "%s"' % u for u in unknown)
        return pruned

    def require_namespace(self, res, ns):
        if not res.namespaced:
            return
        nso = self.store.namespace(ns)
        if nso is None:
            raise err_ns_not_found(ns)
        if (nso.get("metadata") or {}).get("deletionTimestamp"):
            raise ApiError(403, "Forbidden", "%s \"%s\" is forbidden: unable to create new content in namespace "
                           "%s because it is being terminated" % (qualified_resource(res), "", ns),
                           {"kind": res.resource, "group": res.group,
                            "causes": [{"reason": "NamespaceTerminating",
                                        "message": "namespace %s is being terminated" % ns,
                                        "field": "metadata.namespace"}]})

    def spec_changed(self, res, old, new):
        def strip(o):
            d = {k: v for k, v in o.items() if k not in ("metadata", "apiVersion", "kind")}
            if res.has_status or not res.crd:
                d.pop("status", None)
            if res.kind == "Deployment":
                d["__ann"] = (o.get("metadata") or {}).get("annotations") or {}
            return d
        return strip(old) != strip(new)

    # ---- the write pipeline shared by create/update/patch/apply/status
    def write(self, ctx, res, ns, name, old, cand, sub, manager, managers=None, creating=False, private=False):
        """private: cand is the caller's own tree (apply's merge), free to change: no copy."""
        store = self.store
        kind = res.kind
        if not isinstance(cand, dict):
            raise err_bad_request("the body of the request must be an object")
        if not private or has_nulls(cand):
            cand = strip_nulls(cand)
        if not isinstance(cand.get("metadata"), dict):
            cand["metadata"] = {}
        cand["apiVersion"] = res.gv
        cand["kind"] = kind
        old_v = self.in_version(res, old) if old is not None else None
        if sub == "status":
            base = dcopy(old_v)
            if "status" in cand:
                base["status"] = cand["status"]
            else:
                base.pop("status", None)
            client_mf = cand["metadata"].get("managedFields")
            cand = base
            if client_mf is not None:
                cand["metadata"]["managedFields"] = client_mf
        elif res.has_status:
            if old_v is None:
                cand.pop("status", None)
                if kind in INITIAL_STATUS and not res.crd:
                    cand["status"] = dcopy(INITIAL_STATUS[kind])
            elif "status" in old_v:
                cand["status"] = dcopy(old_v["status"])
            else:
                cand.pop("status", None)
        md = cand["metadata"]
        md["name"] = name
        if res.namespaced:
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        md.pop("selfLink", None)
        sysf = ("uid", "creationTimestamp", "resourceVersion", "generation", "deletionTimestamp",
                "deletionGracePeriodSeconds")
        if old_v is None:
            for f in sysf:
                md.pop(f, None)
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = now_ts()
        else:
            omd = old_v["metadata"]
            for f in sysf:
                if f in omd:
                    md[f] = omd[f]
                else:
                    md.pop(f, None)
        client_mf = md.pop("managedFields", None)
        apply_defaults(store, res, cand, old_v)
        if has_nulls(cand):
            cand = strip_nulls(cand)
        md = cand["metadata"]
        errs = validate_object(store, res, cand, old_v)
        if errs:
            raise err_invalid(qualified_kind(res), name, res.group, kind, errs)
        if res.has_generation:
            if old_v is None:
                md["generation"] = 1
            else:
                gen = int(old_v["metadata"].get("generation") or 1)
                if self.spec_changed(res, old_v, cand):
                    gen += 1
                md["generation"] = gen
        old_mf = old_v["metadata"].get("managedFields") if old_v else None
        if managers is None:
            base = Managers(old_mf)
            if client_mf is not None and old_v is not None and client_mf != old_mf and client_mf != []:
                base = Managers(client_mf)
            me = update_managers_sub(base, old_v or {}, cand, res, manager, sub)
            managers = base
        else:
            me = managers.find(manager, "Apply", "", sub or "")
        cand = order_obj(cand)
        md = cand["metadata"]
        obj_changed = old_v is None or _cmp_obj(old_v) != _cmp_obj(cand)
        old_sets = {Managers.ident(e): e["set"] for e in Managers(old_mf).entries}
        if me is not None and (obj_changed or old_sets.get(Managers.ident(me)) != me["set"]):
            me["time"] = now_ts()
        mf = managers.encode()
        if mf:
            md["managedFields"] = mf
        else:
            md.pop("managedFields", None)
        if old_v is not None and not obj_changed and _cmp_mf(mf) == _cmp_mf(old_mf):
            return 200, old_v
        if creating and store.get(res, ns, name) is not None:
            raise err_already_exists(res, name)
        if ctx.dry_run:
            if old_v is None:
                md.pop("resourceVersion", None)
            return (201 if old_v is None else 200), cand
        if old_v is not None and md.get("deletionTimestamp") and not md.get("finalizers"):
            store.put(res, self.to_storage(res, cand), old)
            cur = store.get(res, ns, name)
            store.remove(res, cur)
            self.after_remove(res, cur)
            return 200, self.in_version(res, cur)
        # cand is a tree of this request's own: store it as it is when the
        # versions agree, and answer with it (only read from now on).
        stored = cand if res.storage_gv == res.gv else self.to_storage(res, cand)
        store.put(res, stored, old)
        self.after_write(res, stored, old)
        cand["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"]
        return (201 if old_v is None else 200), cand

    def controller_write(self, res, obj, new_status, manager="kube-controller-manager"):
        """A controller updating /status (separate resourceVersion, Update manager)."""
        store = self.store
        old = obj
        cand = dcopy(obj)
        cand["status"] = new_status
        base = Managers(old["metadata"].get("managedFields"))
        me = update_managers_sub(base, old, cand, res, manager, "status")
        if _cmp_obj(old) == _cmp_obj(cand):
            return old
        me["time"] = now_ts()
        mf = base.encode()
        if mf:
            cand["metadata"]["managedFields"] = mf
        store.put(res, cand, old)
        return cand

    def after_write(self, res, stored, old):
        if res.kind == "CustomResourceDefinition":
            self.establish_crd(res, stored)
        if self.auto_status and not stored["metadata"].get("deletionTimestamp"):
            if self.auto_status_delay > 0:
                key = (res.group, res.resource, stored["metadata"].get("namespace", ""),
                       stored["metadata"]["name"], stored["metadata"]["uid"])
                t = threading.Timer(self.auto_status_delay, self._delayed_status, (res, key))
                t.daemon = True
                t.start()
            else:
                self.make_ready(res, stored)

    def _delayed_status(self, res, key):
        with self.store.lock:
            obj = self.store.objects.get(key[:4])
            if obj is not None and obj["metadata"]["uid"] == key[4]:
                self.make_ready(res, obj)

    def make_ready(self, res, obj):
        if res.crd:
            return obj
        st = ready_status(res, obj)
        if st is None:
            return obj
        merged = merge_patch(obj.get("status") or {}, st)
        return self.controller_write(res, obj, merged)

    def establish_crd(self, res, crd):
        spec = crd.get("spec") or {}
        names = dict(spec.get("names") or {})
        now = now_ts()
        old_status = crd.get("status") or {}
        conds = {c.get("type"): c for c in old_status.get("conditions") or []}
        if is_established(crd) and old_status.get("acceptedNames") == names:
            return
        stored_versions = list(old_status.get("storedVersions") or [])
        sv = next((v.get("name") for v in spec.get("versions") or [] if v.get("storage")), None)
        if sv and sv not in stored_versions:
            stored_versions.append(sv)
        st = {"conditions": [
            conds.get("NamesAccepted") or {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now,
                                           "reason": "NoConflicts", "message": "no conflicts found"},
            conds.get("Established") or {"type": "Established", "status": "True", "lastTransitionTime": now,
                                         "reason": "InitialNamesAccepted",
                                         "message": "the initial names have been accepted"}],
            "acceptedNames": names, "storedVersions": stored_versions}
        self.controller_write(res, crd, st, manager="kube-apiserver")

    # ---- create
    def create(self, ctx, res, ns, body):
        self.check_dry_run(ctx, "CreateOptions")
        manager = self.field_manager(ctx, "CreateOptions")
        if not isinstance(body, dict):
            raise err_bad_request("the body of the request was not a JSON object")
        self.check_gvk(res, body)
        body = self.decode_body(ctx, res, body)
        md = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        body["metadata"] = md
        if res.namespaced:
            bns = md.get("namespace")
            if bns and bns != ns:
                raise err_bad_request("the namespace of the provided object does not match the namespace "
                                      "sent on the request")
        name = md.get("name")
        if not name and md.get("generateName"):
            name = md["generateName"] + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789")
                                                for _ in range(5))
        if not name:
            raise err_invalid(qualified_kind(res), "", res.group, res.kind,
                              [f_required("metadata.name", "name or generateName is required")])
        with self.store.lock:
            self.require_namespace(res, ns)
            return self.write(ctx, res, ns, name, None, body, None, manager, creating=True)

    def check_gvk(self, res, body):
        av, kind = body.get("apiVersion"), body.get("kind")
        if av is not None and av != res.gv:
            raise err_bad_request("the API version in the data (%s) does not match the expected API version "
                                  "(%s)" % (av, res.gv))
        if kind is not None and kind != res.kind:
            raise err_bad_request('%s in version "%s" cannot be handled as a %s: the kind in the data (%s) '
                                  'does not match the expected kind (%s)'
                                  % (res.kind, res.version, res.kind, kind, res.kind))

    # ---- update (PUT)
    def update(self, ctx, res, ns, name, body, sub):
        self.check_dry_run(ctx, "UpdateOptions")
        manager = self.field_manager(ctx, "UpdateOptions")
        if not isinstance(body, dict):
            raise err_bad_request("the body of the request was not a JSON object")
        if sub == "scale":
            return self.update_scale(ctx, res, ns, name, body, manager, None)
        self.check_gvk(res, body)
        body = self.decode_body(ctx, res, body)
        md = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        body["metadata"] = md
        if md.get("name") and md["name"] != name:
            raise err_bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                  % (md["name"], name))
        if res.namespaced and md.get("namespace") and md["namespace"] != ns:
            raise err_bad_request("the namespace of the provided object does not match the namespace sent on "
                                  "the request")
        with self.store.lock:
            old = self.store.get(res, ns, name)
            if old is None:
                raise err_not_found(res, name)
            rv = md.get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise err_conflict_modified(res, name)
            return self.write(ctx, res, ns, name, old, body, sub, manager)

    # ---- patch
    def patch(self, ctx, res, ns, name, raw, ctype, sub):
        ctype = (ctype or "").split(";")[0].strip().lower()
        if ctype == "application/apply-patch+yaml":
            return self.apply(ctx, res, ns, name, raw, sub)
        if ctype not in ("application/merge-patch+json", "application/json-patch+json",
                         "application/strategic-merge-patch+json") or \
                (ctype == "application/strategic-merge-patch+json" and res.crd):
            accepted = ["application/json-patch+json", "application/merge-patch+json"]
            if not res.crd:
                accepted.append("application/strategic-merge-patch+json")
            accepted.append("application/apply-patch+yaml")
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                           "accepted media types include: " + ", ".join(accepted))
        self.check_dry_run(ctx, "PatchOptions")
        if ctx.q("force") is not None:
            raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not '
                                           'be specified for non-apply patch',
                           {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
                               {"reason": "FieldValueForbidden",
                                "message": "Forbidden: may not be specified for non-apply patch",
                                "field": "force"}]})
        manager = self.field_manager(ctx, "PatchOptions")
        try:
            patch = json.loads(raw.decode("utf-8") if raw else "null")
        except (ValueError, UnicodeDecodeError) as e:
            raise err_bad_request("error decoding patch: %s" % e)
        with self.store.lock:
            old = self.store.get(res, ns, name)
            if old is None:
                raise err_not_found(res, name)
            cur = self.in_version(res, old)
            if sub == "scale":
                scale = self.scale_of(res, old)
                try:
                    if ctype == "application/json-patch+json":
                        newscale = json_patch(scale, patch)
                    else:
                        newscale = merge_patch(scale, patch)
                except (JsonPatchError, ValueError) as e:
                    raise self._patch_error(e)
                return self.update_scale(ctx, res, ns, name, newscale, manager, old)
            try:
                if ctype == "application/merge-patch+json":
                    if not isinstance(patch, dict):
                        raise err_bad_request("error decoding patch: merge patch must be a JSON object")
                    new = merge_patch(cur, patch)
                elif ctype == "application/json-patch+json":
                    new = json_patch(cur, patch)
                else:
                    if not isinstance(patch, dict):
                        raise err_bad_request("error decoding patch: strategic merge patch must be a JSON object")
                    new = strategic_merge(cur, patch, res.node)
            except (JsonPatchError, ValueError) as e:
                raise self._patch_error(e)
            if not isinstance(new, dict):
                raise err_bad_request("patch produced a non-object")
            self.check_gvk(res, new)
            new = self.decode_body(ctx, res, new)
            nmd = new.get("metadata") or {}
            if nmd.get("name", name) != name:
                raise err_bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                      % (nmd.get("name"), name))
            prv = (patch.get("metadata") or {}).get("resourceVersion") if isinstance(patch, dict) else None
            if prv and prv != old["metadata"]["resourceVersion"]:
                raise err_conflict_modified(res, name)
            return self.write(ctx, res, ns, name, old, new, sub, manager)

    @staticmethod
    def _patch_error(e):
        if isinstance(e, JsonPatchError):
            return ApiError(422, "Invalid", "the server rejected our request due to an error in our request",
                            {"causes": [{"reason": "UnexpectedServerResponse", "message": str(e)}]})
        return err_bad_request(str(e))

    # ---- server-side apply
    def apply(self, ctx, res, ns, name, raw, sub):
        self.check_dry_run(ctx, "PatchOptions")
        manager = self.field_manager(ctx, "PatchOptions", required=True)
        force_s = ctx.q("force")
        force = force_s in ("true", "1", "True")
        self.field_validation(ctx)
        try:
            text = raw.decode("utf-8")
            body = yaml_load(text)
        except (UnicodeDecodeError, YamlError, ValueError) as e:
            raise err_bad_request("error decoding YAML: %s" % e)
        if not isinstance(body, dict):
            raise err_bad_request("error decoding YAML: the apply patch must be an object")
        if sub == "scale":
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                           "accepted media types include: application/json-patch+json, "
                           "application/merge-patch+json")
        av, kind = body.get("apiVersion"), body.get("kind")
        if av != res.gv:
            raise err_bad_request("Incorrect version specified in apply patch. Specified patch version: %s, "
                                  "expected: %s" % (av or "", res.gv))
        if kind != res.kind:
            raise err_bad_request("invalid object type: %s, Kind=%s" % (av or "", kind or ""))
        md = body.get("metadata")
        if md is None:
            md = body["metadata"] = {}
        if not isinstance(md, dict):
            raise err_bad_request("metadata must be an object")
        if md.get("managedFields") is not None:
            raise err_bad_request("metadata.managedFields must be nil")
        if md.get("name") and md["name"] != name:
            raise err_bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                  % (md["name"], name))
        if res.namespaced and md.get("namespace") and md["namespace"] != ns:
            raise err_bad_request("the namespace of the provided object does not match the namespace sent on "
                                  "the request")
        errs = smd_check(body, res.node)
        if errs:
            gvk = "%s, Kind=%s" % (res.gv if res.group else "/" + res.version, res.kind)
            nn = "%s/%s" % (ns, name) if res.namespaced else "/" + name
            detail = errs[0] if len(errs) == 1 else "errors:\n  " + "\n  ".join(errs)
            raise ApiError(500, "", "failed to create typed patch object (%s; %s): %s" % (nn, gvk, detail))
        with self.store.lock:
            old = self.store.get(res, ns, name)
            if old is None:
                if sub:
                    raise err_not_found(res, name)
                self.require_namespace(res, ns)
                live = {"apiVersion": res.gv, "kind": res.kind, "metadata": {"name": name}}
                if res.namespaced:
                    live["metadata"]["namespace"] = ns
            else:
                live = self.in_version(res, old)
                rv = md.get("resourceVersion")
                if rv and rv != old["metadata"]["resourceVersion"]:
                    raise err_conflict_modified(res, name)
                uid = md.get("uid")
                if uid and uid != old["metadata"]["uid"]:
                    raise ApiError(409, "Conflict", "Precondition failed: UID in precondition: %s, UID in "
                                                    "object meta: %s" % (uid, old["metadata"]["uid"]),
                                   {"name": name, "group": res.group, "kind": res.resource})
            if old is None and md.get("uid"):
                raise ApiError(409, "Conflict", "uid mismatch: the provided object specified uid %s, and no "
                                                "existing object was found" % md["uid"],
                               {"name": name, "group": res.group, "kind": res.resource})
            applied = body             # parsed for this request alone: no copy needed
            amd = applied["metadata"]
            for f in IGNORED_META:
                amd.pop(f, None)
            if sub == "status":
                applied = {k: v for k, v in applied.items() if k in ("apiVersion", "kind", "metadata", "status")}
                applied["metadata"] = {}
            elif res.has_status:
                applied.pop("status", None)
            managers = Managers(live["metadata"].get("managedFields"))
            f_new = filter_paths(fieldset(applied, res.node), sub, res.has_status)
            me = managers.find(manager, "Apply", "", sub or "")
            f_old = set(me["set"]) if me else set()
            merged = merge_applied(live, applied, res.node)
            conflicts = []
            for e in managers.entries:
                if e is me:
                    continue
                for p in sorted(f_new & e["set"], key=path_str):
                    lv = get_at(live, p)
                    nv = get_at(merged, p)
                    if lv is MISSING:
                        conflicts.append((e, p))
                    elif p[-1].startswith("k:"):
                        continue
                    elif lv != nv:
                        conflicts.append((e, p))
            if conflicts and not force:
                raise conflict_error(conflicts)
            for e, p in conflicts:
                e["set"] = e["set"] - {p}
            others = set()
            for e in managers.entries:
                if e is not me:
                    others |= e["set"]
            for p in sorted(f_old - f_new, key=len, reverse=True):
                if p in others or any(o[:len(p)] == p for o in others):
                    continue
                if remove_at(merged, p):
                    q = p[:-1]
                    while len(q) > 1:
                        v = get_at(merged, q)
                        if (v == {} or v == []) and q not in f_new and q not in others \
                                and not q[-1].startswith("k:"):
                            remove_at(merged, q)
                            q = q[:-1]
                        else:
                            break
            me = managers.get_or_add(manager, "Apply", res.gv, sub or "")
            me["apiVersion"] = res.gv
            me["set"] = f_new
            if res.has_status and sub is None and old is not None and "status" in live:
                merged["status"] = live["status"]
            return self.write(ctx, res, ns, name, old, merged, sub, manager, managers, private=True)

    # ---- scale subresource
    def scale_of(self, res, obj):
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        if res.crd:
            sp = getattr(res, "scale_paths", None) or {}
            replicas = _jsonpath_get(obj, sp.get("specReplicasPath", ".spec.replicas")) or 0
            sreplicas = _jsonpath_get(obj, sp.get("statusReplicasPath", ".status.replicas")) or 0
            sel = _jsonpath_get(obj, sp.get("labelSelectorPath")) if sp.get("labelSelectorPath") else ""
        else:
            replicas = spec.get("replicas", 0)
            sreplicas = status.get("replicas", 0)
            sel = scale_selector_string(spec.get("selector"))
        md = obj["metadata"]
        out = {"kind": "Scale", "apiVersion": "autoscaling/v1",
               "metadata": {"name": md["name"], "uid": md["uid"], "resourceVersion": md["resourceVersion"],
                            "creationTimestamp": md.get("creationTimestamp")},
               "spec": {"replicas": replicas}, "status": {"replicas": sreplicas}}
        if res.namespaced:
            out["metadata"]["namespace"] = md.get("namespace")
        if sel:
            out["status"]["selector"] = sel
        return out

    def update_scale(self, ctx, res, ns, name, scale, manager, old):
        with self.store.lock:
            if old is None:
                old = self.store.get(res, ns, name)
            if old is None:
                raise err_not_found(res, name)
            rv = (scale.get("metadata") or {}).get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise err_conflict_modified(res, name)
            r = (scale.get("spec") or {}).get("replicas")
            if not is_int(r) or r < 0:
                raise err_invalid("Scale.autoscaling", name, "autoscaling", "Scale",
                                  [f_invalid("spec.replicas", r, "must be greater than or equal to 0")])
            cand = self.in_version(res, old)
            if res.crd:
                sp = getattr(res, "scale_paths", None) or {}
                _jsonpath_set(cand, sp.get("specReplicasPath", ".spec.replicas"), r)
            else:
                cand.setdefault("spec", {})["replicas"] = r
            code, obj = self.write(ctx, res, ns, name, old, cand, "scale", manager)
            return code, self.scale_of(res, obj)

    # ---- get / list
    def get(self, ctx, res, ns, name, sub):
        with self.store.lock:
            obj = self.store.get(res, ns, name)
            if obj is None:
                raise err_not_found(res, name)
            if sub == "scale":
                return self.scale_of(res, obj)
            return self.in_version(res, obj)

    def list(self, ctx, res, ns):
        lsel = parse_label_selector(ctx.q("labelSelector"))
        fsel = parse_field_selector(ctx.q("fieldSelector"), res)
        limit = ctx.q("limit")
        cont = ctx.q("continue")
        with self.store.lock:
            items = [o for o in self.store.list(res, ns)
                     if labels_match(lsel, o["metadata"].get("labels")) and fields_match(fsel, o)]
            rv = self.store.rv
        start = 0
        if cont:
            try:
                tok = json.loads(base64.urlsafe_b64decode(cont + "=" * (-len(cont) % 4)).decode())
                after = tuple(tok["after"])
                start = next((i for i, o in enumerate(items)
                              if ((o["metadata"].get("namespace") or ""), o["metadata"]["name"]) > after),
                             len(items))
            except Exception:
                raise ApiError(410, "Expired", "The provided continue parameter is too old to display a "
                                               "consistent list result. You can start a new list without the "
                                               "continue parameter.")
        items = items[start:]
        meta = {"resourceVersion": str(rv)}
        try:
            lim = int(limit) if limit else 0
        except ValueError:
            lim = 0
        if lim > 0 and len(items) > lim:
            last = items[lim - 1]["metadata"]
            meta["continue"] = base64.urlsafe_b64encode(jdump(
                {"after": [last.get("namespace") or "", last["name"]], "rv": rv}).encode()).decode().rstrip("=")
            meta["remainingItemCount"] = len(items) - lim
            items = items[:lim]
        out_items = []
        for o in items:
            o = self.in_version(res, o)
            if not res.crd:
                o.pop("apiVersion", None)
                o.pop("kind", None)
            out_items.append(o)
        return {"kind": getattr(res, "list_kind", res.kind + "List"), "apiVersion": res.gv, "metadata": meta,
                "items": out_items}

    # ---- delete
    def parse_delete_options(self, ctx, body):
        opts = {}
        if body:
            try:
                opts = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                raise err_bad_request("error decoding DeleteOptions: %s" % e)
            if not isinstance(opts, dict):
                raise err_bad_request("DeleteOptions must be an object")
        for k in ("propagationPolicy", "gracePeriodSeconds", "orphanDependents"):
            v = ctx.q(k)
            if v is not None and k not in opts:
                opts[k] = v if k == "propagationPolicy" else (v == "true" if k == "orphanDependents" else v)
        if opts.get("dryRun"):
            ctx.query.setdefault("dryRun", [])
            for v in opts["dryRun"]:
                if v not in ctx.query["dryRun"]:
                    ctx.query["dryRun"].append(v)
        self.check_dry_run(ctx, "DeleteOptions")
        pp = opts.get("propagationPolicy")
        if pp is not None and opts.get("orphanDependents") is not None:
            raise ApiError(422, "Invalid", 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid '
                                           'value: "%s": orphanDependents and deletionPropagation cannot be both '
                                           'set' % pp,
                           {"group": "meta.k8s.io", "kind": "DeleteOptions", "causes": [
                               {"reason": "FieldValueInvalid", "field": "propagationPolicy",
                                "message": 'Invalid value: "%s": orphanDependents and deletionPropagation '
                                           'cannot be both set' % pp}]})
        if pp is not None and pp not in ("Foreground", "Background", "Orphan"):
            raise ApiError(422, "Invalid", 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: '
                                           'Unsupported value: "%s": supported values: "Foreground", '
                                           '"Background", "Orphan", "nil"' % pp,
                           {"group": "meta.k8s.io", "kind": "DeleteOptions", "causes": [
                               {"reason": "FieldValueNotSupported", "field": "propagationPolicy",
                                "message": 'Unsupported value: "%s": supported values: "Foreground", '
                                           '"Background", "Orphan", "nil"' % pp}]})
        if pp is None:
            if opts.get("orphanDependents") is True:
                pp = "Orphan"
            elif opts.get("orphanDependents") is False:
                pp = "Background"
            else:
                pp = "Background"
        opts["propagationPolicy"] = pp
        return opts

    def delete(self, ctx, res, ns, name, body):
        opts = self.parse_delete_options(ctx, body)
        with self.store.lock:
            old = self.store.get(res, ns, name)
            if old is None:
                raise err_not_found(res, name)
            pre = opts.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise ApiError(409, "Conflict", "Precondition failed: UID in precondition: %s, UID in object "
                                                "meta: %s" % (pre["uid"], old["metadata"]["uid"]),
                               {"name": name, "group": res.group, "kind": res.resource})
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", "Precondition failed: ResourceVersion in precondition: %s, "
                                                "ResourceVersion in object meta: %s"
                               % (pre["resourceVersion"], old["metadata"]["resourceVersion"]),
                               {"name": name, "group": res.group, "kind": res.resource})
            if ctx.dry_run:
                return 200, self.delete_reply(res, old, lingering=bool(old["metadata"].get("finalizers")))
            return self.delete_obj(res, old, opts["propagationPolicy"])

    def delete_reply(self, res, obj, lingering=False):
        if lingering or res.resource in ("pods", "services", "namespaces"):
            return self.in_version(res, obj)
        md = obj["metadata"]
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": omit_empty({"name": md["name"], "group": res.group, "kind": res.resource,
                                       "uid": md["uid"]})}

    def dependents(self, res, obj):
        uid = obj["metadata"]["uid"]
        out = []
        for (g, r, ns, _), o in list(self.store.objects.items()):
            refs = o["metadata"].get("ownerReferences") or []
            if any(isinstance(x, dict) and x.get("uid") == uid for x in refs):
                if res.namespaced and ns != obj["metadata"].get("namespace"):
                    continue
                dres = self.store.registry.storage(g, r)
                if dres is not None:
                    out.append((dres, o))
        return out

    def uid_exists(self, uid):
        return any(o["metadata"].get("uid") == uid for o in self.store.objects.values())

    def mark_deleting(self, res, obj, extra_finalizer=None):
        cand = dcopy(obj)
        md = cand["metadata"]
        changed = False
        if not md.get("deletionTimestamp"):
            md["deletionTimestamp"] = now_ts()
            md["deletionGracePeriodSeconds"] = 0
            if res.has_generation:
                md["generation"] = int(md.get("generation") or 1) + 1
            changed = True
        if extra_finalizer and extra_finalizer not in (md.get("finalizers") or []):
            md.setdefault("finalizers", []).append(extra_finalizer)
            changed = True
        if changed:
            self.store.put(res, cand, obj)
        return cand

    def delete_obj(self, res, obj, policy):
        store = self.store
        md = obj["metadata"]
        if res.kind == "Namespace":
            return self.delete_namespace(res, obj)
        if res.kind == "CustomResourceDefinition":
            for r in store.registry.all():
                if r.crd == md["name"] and r.version == r.storage_version:
                    for o in store.list(r):
                        self.delete_obj(r, o, "Background")
        deps = self.dependents(res, obj)
        if policy == "Foreground" and deps:
            marked = self.mark_deleting(res, obj, "foregroundDeletion")
            for dres, d in deps:
                self.gc_dependent(dres, d, md["uid"], "Foreground")
            cur = store.get(res, md.get("namespace", ""), md["name"])
            if cur is not None:
                fin = [f for f in cur["metadata"].get("finalizers") or [] if f != "foregroundDeletion"]
                cand = dcopy(cur)
                if fin:
                    cand["metadata"]["finalizers"] = fin
                    store.put(res, cand, cur)
                else:
                    cand["metadata"].pop("finalizers", None)
                    store.remove(res, cand)
                    self.after_remove(res, cand)
            return 200, self.in_version(res, marked)
        if md.get("finalizers"):
            marked = self.mark_deleting(res, obj)
            if policy == "Orphan":
                for dres, d in deps:
                    self.orphan(dres, d, md["uid"])
            return 200, self.in_version(res, marked)
        if policy == "Orphan":
            for dres, d in deps:
                self.orphan(dres, d, md["uid"])
        store.remove(res, obj)
        self.after_remove(res, obj)
        if policy != "Orphan":
            for dres, d in deps:
                self.gc_dependent(dres, d, md["uid"], "Background")
        return 200, self.delete_reply(res, obj)

    def orphan(self, dres, dep, owner_uid):
        cur = self.store.get(dres, dep["metadata"].get("namespace", ""), dep["metadata"]["name"])
        if cur is None:
            return
        cand = dcopy(cur)
        refs = [r for r in cand["metadata"].get("ownerReferences") or [] if r.get("uid") != owner_uid]
        if refs:
            cand["metadata"]["ownerReferences"] = refs
        else:
            cand["metadata"].pop("ownerReferences", None)
        base = Managers(cur["metadata"].get("managedFields"))
        update_managers_sub(base, cur, cand, dres, "kube-controller-manager", None)
        mf = base.encode()
        if mf:
            cand["metadata"]["managedFields"] = mf
        self.store.put(dres, cand, cur)

    def gc_dependent(self, dres, dep, owner_uid, policy):
        cur = self.store.get(dres, dep["metadata"].get("namespace", ""), dep["metadata"]["name"])
        if cur is None:
            return
        refs = cur["metadata"].get("ownerReferences") or []
        alive = [r for r in refs if r.get("uid") != owner_uid and self.uid_exists(r.get("uid"))]
        if alive:
            self.orphan(dres, cur, owner_uid)
            return
        self.delete_obj(dres, cur, policy)

    def delete_namespace(self, res, obj):
        store = self.store
        name = obj["metadata"]["name"]
        if name in ("default", "kube-system", "kube-public"):
            raise ApiError(403, "Forbidden", 'namespaces "%s" is forbidden: this namespace may not be deleted'
                           % name, {"name": name, "kind": "namespaces"})
        cand = dcopy(obj)
        if not cand["metadata"].get("deletionTimestamp"):
            cand["metadata"]["deletionTimestamp"] = now_ts()
            cand["metadata"]["deletionGracePeriodSeconds"] = 0
            cand.setdefault("status", {})["phase"] = "Terminating"
            store.put(res, cand, obj)
        reply = self.in_version(res, cand)
        for (g, r, ns, _), o in list(store.objects.items()):
            if ns == name and r != "namespaces":
                dres = store.registry.storage(g, r)
                cur = store.objects.get((g, r, ns, o["metadata"]["name"]))
                if dres is not None and cur is not None and not cur["metadata"].get("deletionTimestamp"):
                    self.delete_obj(dres, cur, "Background")
        self.check_namespace_done(name)
        return 200, reply

    def check_namespace_done(self, name):
        store = self.store
        nso = store.namespace(name)
        if nso is None or not nso["metadata"].get("deletionTimestamp"):
            return
        if any(ns == name for (_, r, ns, _) in store.objects if r != "namespaces"):
            return
        if nso["metadata"].get("finalizers"):
            return
        nres = store.registry.lookup("", "v1", "namespaces")
        store.remove(nres, nso)

    def after_remove(self, res, obj):
        if res.namespaced:
            self.check_namespace_done(obj["metadata"].get("namespace", ""))

    def delete_collection(self, ctx, res, ns, body):
        opts = self.parse_delete_options(ctx, body)
        lsel = parse_label_selector(ctx.q("labelSelector"))
        fsel = parse_field_selector(ctx.q("fieldSelector"), res)
        with self.store.lock:
            items = [o for o in self.store.list(res, ns)
                     if labels_match(lsel, o["metadata"].get("labels")) and fields_match(fsel, o)]
            out = []
            for o in items:
                if not ctx.dry_run:
                    self.delete_obj(res, o, opts["propagationPolicy"])
                x = self.in_version(res, o)
                out.append(x)
            return 200, {"kind": getattr(res, "list_kind", res.kind + "List"), "apiVersion": res.gv,
                         "metadata": {"resourceVersion": str(self.store.rv)}, "items": out}


def update_managers_sub(managers, old, new, res, manager, sub):
    old_set = filter_paths_sub(fieldset(old, res.node), sub, res.has_status) if old else set()
    new_set = filter_paths_sub(fieldset(new, res.node), sub, res.has_status)
    changed = set()
    for p in new_set:
        if p not in old_set:
            changed.add(p)
        elif not p[-1].startswith("k:") and get_at(old, p) != get_at(new, p):
            changed.add(p)
    removed = old_set - new_set
    me = managers.get_or_add(manager, "Update", res.gv, sub or "")
    for e in managers.entries:
        e["set"] = e["set"] - removed
        if e is not me:
            e["set"] = e["set"] - changed
    me["set"] = me["set"] | changed
    return me


# --------------------------------------------------------------------------
# discovery, OpenAPI, tables
# --------------------------------------------------------------------------


def storage_hash(res):
    return base64.b64encode(hashlib.sha256(("%s/%s/%s" % (res.group, res.version, res.kind)).encode())
                            .digest()[:8]).decode()


def api_resource_list(reg, group, version):
    out = []
    for r in reg.resources_in(group, version):
        e = {"name": r.resource, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
             "verbs": r.verbs}
        if r.short:
            e["shortNames"] = r.short
        if r.categories:
            e["categories"] = r.categories
        e["storageVersionHash"] = storage_hash(r)
        out.append(e)
        if r.has_status:
            out.append({"name": r.resource + "/status", "singularName": "", "namespaced": r.namespaced,
                        "kind": r.kind, "verbs": ["get", "patch", "update"]})
        if r.has_scale:
            out.append({"name": r.resource + "/scale", "singularName": "", "namespaced": r.namespaced,
                        "group": "autoscaling", "version": "v1", "kind": "Scale",
                        "verbs": ["get", "patch", "update"]})
    gv = version if not group else "%s/%s" % (group, version)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}


def api_group(group, versions):
    vs = [{"groupVersion": "%s/%s" % (group, v), "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


def aggregated_discovery(reg, core):
    items = []
    for group, versions in reg.groups():
        if (group == "") != core:
            continue
        vitems = []
        for v in versions:
            resources = []
            for r in reg.resources_in(group, v):
                e = {"resource": r.resource, "responseKind": {"group": r.group, "version": r.version,
                                                              "kind": r.kind},
                     "scope": "Namespaced" if r.namespaced else "Cluster", "singularResource": r.singular,
                     "verbs": r.verbs}
                if r.short:
                    e["shortNames"] = r.short
                if r.categories:
                    e["categories"] = r.categories
                subs = []
                if r.has_status:
                    subs.append({"subresource": "status", "responseKind": {"group": r.group, "version": r.version,
                                                                           "kind": r.kind},
                                 "verbs": ["get", "patch", "update"]})
                if r.has_scale:
                    subs.append({"subresource": "scale", "responseKind": {"group": "autoscaling",
                                                                          "version": "v1", "kind": "Scale"},
                                 "verbs": ["get", "patch", "update"]})
                if subs:
                    e["subresources"] = subs
                resources.append(e)
            vitems.append({"version": v, "resources": resources, "freshness": "Current"})
        md = {"creationTimestamp": None}
        if group:
            md["name"] = group
        items.append({"metadata": md, "versions": vitems})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
            "items": items}


def openapi_gv_doc(reg, group, version):
    paths = {}
    prefix = "/api/%s" % version if not group else "/apis/%s/%s" % (group, version)
    params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
              for n in ("dryRun", "fieldManager", "fieldValidation", "pretty")]
    for r in reg.resources_in(group, version):
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        base = prefix + ("/namespaces/{namespace}/" if r.namespaced else "/") + r.resource

        def op(action, extra=()):
            return {"operationId": "%s%s" % (action, r.kind), "x-kubernetes-action": action,
                    "x-kubernetes-group-version-kind": gvk,
                    "parameters": params + [{"name": n, "in": "query", "schema": {"type": "string"}}
                                            for n in extra],
                    "responses": {"200": {"description": "OK"}}}

        paths[base] = {"get": op("list"), "post": op("post")}
        paths[base + "/{name}"] = {"get": op("get"), "put": op("put"), "patch": op("patch", ["force"]),
                                   "delete": op("delete")}
        if r.has_status:
            paths[base + "/{name}/status"] = {"get": op("get"), "put": op("put"),
                                              "patch": op("patch", ["force"])}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.%s.9" % SERVER_MINOR},
            "paths": paths, "components": {"schemas": {}}}


def human_duration(seconds):
    s = int(max(seconds, 0))
    if s < 120:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 180:
        return "%dm" % m
    h = m // 60
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    d = h // 24
    if d < 8:
        return "%dd%dh" % (d, h % 24) if h % 24 else "%dd" % d
    if d < 730:
        return "%dd" % d
    return "%dy%dd" % (d // 365, d % 365)


def _age(o):
    return human_duration(time.time() - parse_ts(o["metadata"].get("creationTimestamp") or now_ts()))


def _containers(o, path):
    spec = o
    for p in path:
        spec = (spec or {}).get(p) if isinstance(spec, dict) else None
    cs = (spec or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def _svc_ports(spec):
    out = []
    for p in spec.get("ports") or []:
        s = "%s" % p.get("port")
        if p.get("nodePort"):
            s += ":%s" % p["nodePort"]
        out.append("%s/%s" % (s, p.get("protocol", "TCP")))
    return ",".join(out) or "<none>"


def table_columns(res):
    """[(name, type, priority, fn(obj))]"""
    k = res.kind
    name = ("Name", "string", 0, lambda o: o["metadata"]["name"])
    age = ("Age", "string", 0, _age)
    st = lambda o: o.get("status") or {}
    sp = lambda o: o.get("spec") or {}
    if k == "Deployment":
        return [name,
                ("Ready", "string", 0, lambda o: "%d/%d" % (st(o).get("readyReplicas", 0), sp(o).get("replicas", 0))),
                ("Up-to-date", "integer", 0, lambda o: st(o).get("updatedReplicas", 0)),
                ("Available", "integer", 0, lambda o: st(o).get("availableReplicas", 0)), age,
                ("Containers", "string", 1, lambda o: _containers(o, ("spec", "template", "spec"))[0]),
                ("Images", "string", 1, lambda o: _containers(o, ("spec", "template", "spec"))[1]),
                ("Selector", "string", 1, lambda o: scale_selector_string(sp(o).get("selector")))]
    if k == "StatefulSet":
        return [name, ("Ready", "string", 0, lambda o: "%d/%d" % (st(o).get("readyReplicas", 0),
                                                                  sp(o).get("replicas", 0))), age]
    if k == "ConfigMap":
        return [name, ("Data", "integer", 0, lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
                age]
    if k == "Secret":
        return [name, ("Type", "string", 0, lambda o: o.get("type", "")),
                ("Data", "integer", 0, lambda o: len(o.get("data") or {})), age]
    if k == "Service":
        return [name, ("Type", "string", 0, lambda o: sp(o).get("type", "")),
                ("Cluster-IP", "string", 0, lambda o: sp(o).get("clusterIP", "<none>")),
                ("External-IP", "string", 0, lambda o: ",".join(
                    i.get("ip") or i.get("hostname", "") for i in
                    ((st(o).get("loadBalancer") or {}).get("ingress") or [])) or (
                    "<pending>" if sp(o).get("type") == "LoadBalancer" else "<none>")),
                ("Port(s)", "string", 0, lambda o: _svc_ports(sp(o))), age,
                ("Selector", "string", 1, lambda o: ",".join(
                    "%s=%s" % kv for kv in sorted((sp(o).get("selector") or {}).items())) or "<none>")]
    if k == "Namespace":
        return [name, ("Status", "string", 0, lambda o: st(o).get("phase", "")), age]
    if k == "PersistentVolumeClaim":
        return [name, ("Status", "string", 0, lambda o: st(o).get("phase", "")),
                ("Volume", "string", 0, lambda o: sp(o).get("volumeName", "")),
                ("Capacity", "string", 0, lambda o: (st(o).get("capacity") or {}).get("storage", "")),
                ("Access Modes", "string", 0, lambda o: ",".join(
                    {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
                     "ReadWriteOncePod": "RWOP"}.get(m, m) for m in st(o).get("accessModes") or [])),
                ("StorageClass", "string", 0, lambda o: sp(o).get("storageClassName", "<unset>")),
                ("VolumeAttributesClass", "string", 0, lambda o: sp(o).get("volumeAttributesClassName", "<unset>")),
                age]
    if k == "Job":
        def jstatus(o):
            for c in st(o).get("conditions") or []:
                if c.get("status") == "True" and c.get("type") in ("Complete", "Failed", "Suspended"):
                    return c["type"]
            return "Running"
        return [name, ("Status", "string", 0, jstatus),
                ("Completions", "string", 0, lambda o: "%d/%d" % (st(o).get("succeeded", 0),
                                                                 sp(o).get("completions") or 1)),
                ("Duration", "string", 0, lambda o: human_duration(
                    parse_ts(st(o)["completionTime"]) - parse_ts(st(o)["startTime"]))
                    if st(o).get("completionTime") and st(o).get("startTime") else ""), age]
    if k == "CronJob":
        return [name, ("Schedule", "string", 0, lambda o: sp(o).get("schedule", "")),
                ("Timezone", "string", 0, lambda o: sp(o).get("timeZone", "<none>")),
                ("Suspend", "boolean", 0, lambda o: bool(sp(o).get("suspend"))),
                ("Active", "integer", 0, lambda o: len(st(o).get("active") or [])),
                ("Last Schedule", "string", 0, lambda o: "<none>"), age]
    if k == "Ingress":
        return [name, ("Class", "string", 0, lambda o: sp(o).get("ingressClassName", "<none>")),
                ("Hosts", "string", 0, lambda o: ",".join(r.get("host", "*") for r in sp(o).get("rules") or [])
                 or "*"),
                ("Address", "string", 0, lambda o: ",".join(
                    i.get("ip") or i.get("hostname", "") for i in
                    ((st(o).get("loadBalancer") or {}).get("ingress") or []))),
                ("Ports", "string", 0, lambda o: "80, 443" if sp(o).get("tls") else "80"), age]
    if k == "HorizontalPodAutoscaler":
        return [name, ("Reference", "string", 0, lambda o: "%s/%s" % (
            (sp(o).get("scaleTargetRef") or {}).get("kind", ""), (sp(o).get("scaleTargetRef") or {}).get("name", ""))),
                ("Targets", "string", 0, lambda o: "<unknown>"),
                ("MinPods", "string", 0, lambda o: str(sp(o).get("minReplicas", 1))),
                ("MaxPods", "integer", 0, lambda o: sp(o).get("maxReplicas", 0)),
                ("Replicas", "integer", 0, lambda o: st(o).get("currentReplicas", 0)), age]
    if k == "CustomResourceDefinition":
        return [name, ("Created At", "date", 0, lambda o: o["metadata"].get("creationTimestamp", ""))]
    cols = [name]
    for pc in (res.printer_columns or []):
        path = pc.get("jsonPath", "")
        cols.append((pc.get("name", ""), pc.get("type", "string"), pc.get("priority", 0),
                     (lambda p: lambda o: _jsonpath_get(o, p))(path)))
    cols.append(age)
    return cols


def make_table(res, objs, rv, include):
    cols = table_columns(res)
    defs = [{"name": c[0], "type": c[1], "format": "name" if c[0] == "Name" else "", "description": c[0],
             "priority": c[2]} for c in cols]
    rows = []
    for o in objs:
        cells = []
        for c in cols:
            try:
                v = c[3](o)
            except Exception:
                v = ""
            cells.append(v if v is not None else "")
        row = {"cells": cells}
        if include == "Object":
            row["object"] = o
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": o["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": str(rv)},
            "columnDefinitions": defs, "rows": rows}


# --------------------------------------------------------------------------
# faults, request log, auth
# --------------------------------------------------------------------------

REASONS = {400: ("BadRequest", "bad request"), 401: ("Unauthorized", "Unauthorized"),
           403: ("Forbidden", "forbidden"), 404: ("NotFound", "the server could not find the requested resource"),
           405: ("MethodNotAllowed", "the server does not allow this method on the requested resource"),
           409: ("Conflict", "the server reported a conflict"), 410: ("Expired", "the resource version is too old"),
           422: ("Invalid", "the server rejected our request due to an error in our request"),
           429: ("TooManyRequests", "Too many requests, please try again later."),
           500: ("InternalError", "Internal error occurred: injected fault"),
           503: ("ServiceUnavailable", "The server is currently unable to handle the request"),
           504: ("Timeout", "Timeout: request did not complete within requested timeout - context deadline "
                            "exceeded")}


class Faults(object):
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.next_id = 1

    def add(self, rule):
        if not isinstance(rule, dict):
            raise ValueError("a fault must be a JSON object")
        m = rule.get("match") or {}
        for k in ("path_re", "query_re"):
            if m.get(k):
                re.compile(m[k])
        if "status" not in rule and "action" not in rule and "delay" not in rule:
            raise ValueError("a fault needs status, action or delay")
        if rule.get("action") not in (None, "reset", "close"):
            raise ValueError("action must be reset or close")
        with self.lock:
            r = dict(rule)
            r["id"] = self.next_id
            self.next_id += 1
            r.setdefault("count", None)
            r.setdefault("after", 0)
            r["hits"] = 0
            self.rules.append(r)
            return r["id"]

    def clear(self, rid=None):
        with self.lock:
            if rid is None:
                self.rules = []
            else:
                self.rules = [r for r in self.rules if r["id"] != rid]

    def list(self):
        with self.lock:
            return [dict(r) for r in self.rules]

    def match(self, method, path, query, ctype, user):
        with self.lock:
            for r in self.rules:
                m = r.get("match") or {}
                if m.get("method") and m["method"].upper() != method:
                    continue
                if m.get("path_re") and not re.search(m["path_re"], path):
                    continue
                if m.get("query_re") and not re.search(m["query_re"], query):
                    continue
                if m.get("content_type") and m["content_type"] not in (ctype or ""):
                    continue
                if m.get("user") and m["user"] != user:
                    continue
                r["hits"] += 1
                if r["hits"] <= int(r.get("after") or 0):
                    continue
                out = dict(r)
                if r["count"] is not None:
                    r["count"] -= 1
                    if r["count"] <= 0:
                        self.rules.remove(r)
                return out
        return None


class RequestLog(object):
    def __init__(self, path=None):
        self.lock = threading.Lock()
        self.entries = deque(maxlen=200000)
        self.seq = 0
        self.fh = open(path, "a", buffering=1) if path else None

    def add(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.entries.append(entry)
            if self.fh:
                try:
                    self.fh.write(jdump(entry) + "\n")
                except Exception:
                    pass

    def reset(self):
        with self.lock:
            self.entries.clear()

    def dump(self, since=0):
        with self.lock:
            return [e for e in self.entries if e["seq"] > since]


def load_tokens(path):
    table = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            row = next(csv.reader([line]))
            if len(row) < 2:
                continue
            token, user = row[0].strip(), row[1].strip()
            groups = []
            if len(row) == 3:
                groups = [g for g in row[2].split("|") if g]
            elif len(row) >= 4:
                groups = [g.strip() for g in ",".join(row[3:]).replace("|", ",").split(",") if g.strip()]
            table[token] = (user, groups)
    return table


def load_authz(path):
    with open(path) as f:
        text = f.read().strip()
    if not text:
        return []
    if text.startswith("["):
        return json.loads(text)
    return [json.loads(l) for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]


def _rule_has(rule, key, val):
    v = rule.get(key)
    if v is None or v == "*" or v == ["*"]:
        return True
    if isinstance(v, list):
        return val in v
    return v == val


def authz_denied(rules, user, groups, verb, group, resource, ns, name, path):
    for r in rules:
        if r.get("user") is not None and not _rule_has(r, "user", user):
            continue
        if r.get("group") is not None:
            gs = r["group"] if isinstance(r["group"], list) else [r["group"]]
            if "*" not in gs and not any(g in groups for g in gs):
                continue
        if not _rule_has(r, "verb", verb):
            continue
        if resource is None:
            if r.get("nonResourcePath") is None or not re.search(r["nonResourcePath"], path):
                continue
            return True
        if r.get("nonResourcePath") is not None:
            continue
        if not _rule_has(r, "apiGroup", group) or not _rule_has(r, "resource", resource):
            continue
        if not _rule_has(r, "namespace", ns or "") or not _rule_has(r, "name", name or ""):
            continue
        return True
    return False


def forbidden_error(user, verb, res, sub, ns, name):
    rname = res.resource + ("/" + sub if sub else "")
    qr = qualified_resource(res)
    where = 'in the namespace "%s"' % ns if (res.namespaced and ns) else "at the cluster scope"
    why = 'User "%s" cannot %s resource "%s" in API group "%s" %s' % (user, verb, rname, res.group, where)
    msg = ('%s "%s" is forbidden: %s' % (qr, name, why)) if name else ("%s is forbidden: %s" % (qr, why))
    return ApiError(403, "Forbidden", msg, {"name": name or "", "group": res.group, "kind": res.resource}
                    if name else {"group": res.group, "kind": res.resource})


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------

MAX_BODY = 16 * 1024 * 1024
SERIAL_REPLY_MAX = 64 * 1024   # replies up to this size are written before the next request starts
UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


def _pb_varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _pb_fields(buf):
    """{field: first value}: enough where a field is not repeated."""
    return {f: vs[0] for f, vs in _pb_all(buf).items()}


def _pb_all(buf):
    """A protobuf message's fields, repeated ones kept: {field: [values]}."""
    out, i = {}, 0
    while i < len(buf):
        key, i = _pb_varint(buf, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _pb_varint(buf, i)
        elif wt == 2:
            n, i = _pb_varint(buf, i)
            v = bytes(buf[i:i + n])
            i += n
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("unsupported protobuf wire type %d" % wt)
        out.setdefault(f, []).append(v)
    return out


def _pb_map(entries, binary=False):
    out = {}
    for e in entries:
        kv = _pb_fields(e)
        v = kv.get(2, b"")
        out[kv.get(1, b"").decode()] = base64.b64encode(v).decode() if binary else v.decode()
    return out


def _pb_meta(buf):
    f = _pb_all(buf)
    md = {}
    for num, key in ((1, "name"), (2, "generateName"), (3, "namespace"), (6, "resourceVersion")):
        if f.get(num) and f[num][0]:
            md[key] = f[num][0].decode()
    if f.get(11):
        md["labels"] = _pb_map(f[11])
    if f.get(12):
        md["annotations"] = _pb_map(f[12])
    if f.get(14):
        md["finalizers"] = [x.decode() for x in f[14]]
    return md


def decode_object_protobuf(body):
    """kubectl's typed clients (kubectl create namespace|configmap|secret) send protobuf: decode those."""
    try:
        if not body.startswith(b"k8s\x00"):
            raise ValueError("missing protobuf magic")
        unknown = _pb_fields(body[4:])
        tm = _pb_fields(unknown.get(1, b""))
        api_version, kind = tm.get(1, b"").decode(), tm.get(2, b"").decode()
        f = _pb_all(unknown.get(2, b""))
        obj = {"apiVersion": api_version, "kind": kind, "metadata": _pb_meta(f.get(1, [b""])[0])}
        if kind == "ConfigMap":
            if f.get(2):
                obj["data"] = _pb_map(f[2])
            if f.get(3):
                obj["binaryData"] = _pb_map(f[3], binary=True)
            if f.get(4):
                obj["immutable"] = bool(f[4][0])
        elif kind == "Secret":
            if f.get(2):
                obj["data"] = _pb_map(f[2], binary=True)
            if f.get(3) and f[3][0]:
                obj["type"] = f[3][0].decode()
            if f.get(4):
                obj["stringData"] = _pb_map(f[4])
            if f.get(5):
                obj["immutable"] = bool(f[5][0])
        elif kind == "Namespace":
            if f.get(2):
                spec = _pb_all(f[2][0])
                if spec.get(1):
                    obj["spec"] = {"finalizers": [x.decode() for x in spec[1]]}
        else:
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                           "accepted media types include: application/json, application/yaml "
                           "(kubetest decodes protobuf only for Namespace, ConfigMap, Secret and reviews)")
        return obj
    except (ValueError, IndexError, UnicodeDecodeError) as e:
        raise err_bad_request("unable to decode protobuf body: %s" % e)


def decode_review_protobuf(body):
    """Just enough protobuf for SelfSubject(Access)Review bodies (kubectl sends those as protobuf)."""
    try:
        if not body.startswith(b"k8s\x00"):
            raise ValueError("missing protobuf magic")
        unknown = _pb_fields(body[4:])
        raw = _pb_fields(unknown.get(2, b""))
        spec = _pb_fields(raw.get(2, b""))
        out = {"spec": {}}
        if 1 in spec:
            ra = _pb_fields(spec[1])
            names = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource", 6: "subresource",
                     7: "name"}
            out["spec"]["resourceAttributes"] = {names[k]: v.decode() for k, v in ra.items()
                                                 if k in names and isinstance(v, bytes)}
        if 2 in spec:
            nra = _pb_fields(spec[2])
            out["spec"]["nonResourceAttributes"] = {{1: "path", 2: "verb"}[k]: v.decode()
                                                    for k, v in nra.items() if k in (1, 2)}
        return out
    except (ValueError, IndexError, UnicodeDecodeError) as e:
        raise err_bad_request("unable to decode protobuf body: %s" % e)


class DropConnection(Exception):
    def __init__(self, rst):
        Exception.__init__(self)
        self.rst = rst


class App(object):
    def __init__(self, opts):
        self.opts = opts
        self.store = Store(opts.state)
        self.api = Api(self.store, opts.auto_status, opts.auto_status_delay)
        self.faults = Faults()
        # Admission: one request is processed at a time. The GIL runs one
        # thread anyway; without this, 16 connection threads pass it back
        # and forth at every socket read and write (about 14 context
        # switches per request, a third more CPU than the same requests on
        # one connection). Watches and fault delays never hold it.
        self.serial = threading.Lock()
        self.log = RequestLog(opts.log)
        self.tls = bool(opts.tls_cert)
        self.tokens = load_tokens(opts.tokens) if opts.tokens else {}
        self.authz = load_authz(opts.authz) if opts.authz else []
        self.port = 0
        loaded = self.store.load()
        with self.store.lock:
            nres = self.store.registry.lookup("", "v1", "namespaces")
            ctx = Ctx(user="system:apiserver", ua="kube-apiserver/v1.%s" % SERVER_MINOR)
            for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
                if self.store.namespace(ns) is None:
                    self.api.write(ctx, nres, "", ns, None, {"metadata": {"name": ns}}, None, "kube-apiserver")
            if not loaded:
                self.store.persist()

    def reset_store(self):
        with self.store.lock:
            keep_rv = self.store.rv
            self.store.objects = {}
            self.store.registry.rebuild([])
            self.store.rv = keep_rv
            nres = self.store.registry.lookup("", "v1", "namespaces")
            ctx = Ctx(user="system:apiserver")
            for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
                self.api.write(ctx, nres, "", ns, None, {"metadata": {"name": ns}}, None, "kube-apiserver")


class Headers(object):
    """Request headers: what the handler uses of email.message.Message (get,
    get_all, [], in, items) without the email parser, which was a third of
    the CPU of a small request. Lookups are case-insensitive; get returns the
    first value, as Message does."""

    def __init__(self, items):
        self._items = items
        self._first = {}
        for k, v in items:
            self._first.setdefault(k.lower(), v)

    def get(self, name, default=None):
        return self._first.get(name.lower(), default)

    __getitem__ = get

    def get_all(self, name, failobj=None):
        name = name.lower()
        vals = [v for k, v in self._items if k.lower() == name]
        return vals or failobj

    def __contains__(self, name):
        return name.lower() in self._first

    def items(self):
        return list(self._items)

    def keys(self):
        return [k for k, _ in self._items]

    def values(self):
        return [v for _, v in self._items]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self._items)


_MAX_HEADER_LINE = 65536
_MAX_HEADERS = 100


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kubetest"
    sys_version = ""

    def version_string(self):
        return "kubetest"

    def date_time_string(self, timestamp=None):
        # The Date header of every reply: formatted once a second (see now_ts).
        global _http_date
        if timestamp is not None:
            return http.server.BaseHTTPRequestHandler.date_time_string(self, timestamp)
        t = int(time.time())
        if t != _http_date[0]:
            _http_date = (t, http.server.BaseHTTPRequestHandler.date_time_string(self, t))
        return _http_date[1]

    timeout = 300

    def log_message(self, fmt, *args):
        pass

    def handle_one_request(self):
        try:
            http.server.BaseHTTPRequestHandler.handle_one_request(self)
        except DropConnection as d:
            self.drop(d.rst)
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            self.close_connection = True
        except Exception:
            traceback.print_exc()
            self.close_connection = True

    def drop(self, rst):
        self.close_connection = True
        try:
            if rst:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = lambda self: self.dispatch()

    def parse_request(self):
        """BaseHTTPRequestHandler.parse_request (request line, version,
        Connection, Expect) with the headers read by read_headers."""
        self.command = None
        self.request_version = version = self.default_request_version
        self.close_connection = True
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if not words:
            return False
        if len(words) >= 3:
            version = words[-1]
            try:
                if not version.startswith("HTTP/"):
                    raise ValueError
                base = version.split("/", 1)[1]
                nums = base.split(".")
                if len(nums) != 2 or not all(c.isdigit() and len(c) <= 10 for c in nums):
                    raise ValueError
                vnum = int(nums[0]), int(nums[1])
            except (ValueError, IndexError):
                self.send_error(HTTPStatus.BAD_REQUEST, "Bad request version (%r)" % version)
                return False
            if vnum >= (1, 1) and self.protocol_version >= "HTTP/1.1":
                self.close_connection = False
            if vnum >= (2, 0):
                self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "Invalid HTTP version (%s)" % base)
                return False
            self.request_version = version
        if not 2 <= len(words) <= 3:
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad request syntax (%r)" % requestline)
            return False
        command, path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if command != "GET":
                self.send_error(HTTPStatus.BAD_REQUEST, "Bad HTTP/0.9 request type (%r)" % command)
                return False
        self.command, self.path = command, path
        if self.path.startswith("//"):
            self.path = "/" + self.path.lstrip("/")
        try:
            self.headers = self.read_headers()
        except ValueError as e:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, *e.args)
            return False
        conntype = (self.headers.get("Connection") or "").lower()
        if conntype == "close":
            self.close_connection = True
        elif conntype == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        expect = self.headers.get("Expect") or ""
        if expect.lower() == "100-continue" and self.protocol_version >= "HTTP/1.1" and \
                self.request_version >= "HTTP/1.1":
            if not self.handle_expect_100():
                return False
        return True

    def read_headers(self):
        items = []
        n = 0
        while True:
            line = self.rfile.readline(_MAX_HEADER_LINE + 1)
            if len(line) > _MAX_HEADER_LINE:
                raise ValueError("Line too long", "got more than %d bytes when reading header line"
                                 % _MAX_HEADER_LINE)
            if line in (b"\r\n", b"\n", b""):
                return Headers(items)
            n += 1
            if n > _MAX_HEADERS:
                raise ValueError("Too many headers", "got more than %d headers" % _MAX_HEADERS)
            text = line.decode("iso-8859-1").rstrip("\r\n")
            if text[:1] in (" ", "\t") and items:      # obsolete line folding
                items[-1] = (items[-1][0], items[-1][1] + " " + text.strip())
                continue
            k, sep, v = text.partition(":")
            if sep:
                items.append((k.strip(), v.strip()))

    # ---- low level
    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = b""
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline(65537)
                if len(out) > MAX_BODY:
                    raise ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 16777216")
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 16777216")
        return self.rfile.read(n) if n > 0 else b""

    serial_held = False

    def unserialize(self):
        """Lets the next request in (see App.serial)."""
        if self.serial_held:
            self.serial_held = False
            self.server.app.serial.release()

    def send(self, code, body, ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            data = (jdump(body) + "\n").encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body or b""
        self.log_now(code)
        if len(data) > SERIAL_REPLY_MAX:
            self.unserialize()      # a client slow to read a big reply must not stall the others
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", audit_id())
        for k, v in (headers or {}).items():
            if isinstance(v, list):
                for x in v:
                    self.send_header(k, x)
            else:
                self.send_header(k, v)
        # Headers and body in one write: one TLS record and one syscall
        # instead of two (end_headers would flush the headers alone).
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(data)
        self.flush_headers()
        self.status_sent = code

    def send_error_status(self, e, extra_headers=None):
        h = dict(e.headers)
        h.update(extra_headers or {})
        if e.raw is not None:
            self.send(e.code, e.raw[1], e.raw[0], h)
        else:
            self.send(e.code, e.status(), "application/json", h)

    def not_found_text(self):
        self.send(404, "404 page not found\n", "text/plain; charset=utf-8",
                  {"X-Content-Type-Options": "nosniff"})

    # ---- main entry
    def log_now(self, status):
        """Records the request (once). send() calls it before the reply goes
        out, so a client that has its answer finds the request in the log."""
        e = self.log_entry
        if e is None:
            return
        self.log_entry = None
        e["status"] = status
        e["duration_ms"] = int((time.time() - self.t0) * 1000)
        self.server.app.log.add(e)

    def dispatch(self):
        app = self.server.app
        self.t0 = time.time()
        self.status_sent = None
        self.log_entry = None
        if self.path.startswith("/") and "#" not in self.path:
            path, _, rawq = self.path.partition("?")     # what urlsplit gives for an origin-form target
        else:
            url = urllib.parse.urlsplit(self.path)
            path, rawq = url.path, url.query
        query = urllib.parse.parse_qs(rawq, keep_blank_values=True)
        ctype = self.headers.get("Content-Type", "")
        entry = {"time": now_ts(), "method": self.command, "path": path, "query": rawq,
                 "content_type": ctype, "accept": self.headers.get("Accept", ""),
                 "user_agent": self.headers.get("User-Agent", ""), "user": None}
        warnings = []
        try:
            body = self.read_body()
        except ApiError as e:
            self.send_error_status(e)
            self.close_connection = True
            return
        except (ValueError, OSError):
            self.close_connection = True
            return
        if path.startswith("/_test/") or path == "/_test":
            try:
                self.handle_test(app, path, query, body)
            except ApiError as e:
                self.send_error_status(e)
            except Exception as e:
                traceback.print_exc()
                self.send(500, {"error": str(e)})
            return
        self.log_entry = entry
        if body and len(body) <= 65536:
            try:
                entry["body"] = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                entry["body"] = body.decode("utf-8", "replace")
        try:
            ident = self.authenticate(app)
            entry["user"] = ident[0] if ident else None
            fault = app.faults.match(self.command, path, rawq, ctype, entry["user"])
            if fault is not None:
                entry["fault"] = fault["id"]
                if fault.get("delay"):
                    time.sleep(float(fault["delay"]))
                if fault.get("action") in ("reset", "close"):
                    entry["status"] = 0
                    raise DropConnection(fault["action"] == "reset")
                if "status" in fault:
                    raise self.fault_error(fault)
            if ident is None:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            app.serial.acquire()
            self.serial_held = True
            try:
                self.route(app, path, query, body, ctype, ident, warnings)
            finally:
                self.unserialize()
        except DropConnection:
            self.log_now(entry.get("status", 0))
            raise
        except ApiError as e:
            if e.code == 401 and e.raw is None:
                self.send(401, UNAUTHORIZED)
            else:
                self.send_error_status(e, {"Warning": ['299 - "%s"' % w.replace('"', '\\"') for w in warnings]}
                                       if warnings else None)
        except (ConnectionError, BrokenPipeError, socket.timeout, ssl.SSLError):
            self.close_connection = True
        except Exception as e:
            traceback.print_exc()
            if self.status_sent is None:
                try:
                    self.send(500, err_internal(str(e)).status())
                except OSError:
                    self.close_connection = True
        self.log_now(entry.get("status", 0))      # no reply was sent (a watch or a send logged already)

    def fault_error(self, f):
        code = int(f["status"])
        reason, msg = REASONS.get(code, ("", "the server responded with the status code %d" % code))
        reason = f.get("reason", reason)
        msg = f.get("message", msg)
        headers = dict(f.get("headers") or {})
        details = None
        if f.get("retryAfter") is not None:
            headers["Retry-After"] = str(f["retryAfter"])
            details = {"retryAfterSeconds": int(f["retryAfter"])}
        if "body" in f:
            body = f["body"]
            if not isinstance(body, str):
                body = jdump(body)
            return ApiError(code, reason, msg, headers=headers,
                            raw=(f.get("content_type", "text/plain; charset=utf-8"), body.encode()))
        if code == 401:
            return ApiError(401, "Unauthorized", "Unauthorized", headers=headers,
                            raw=("application/json", (jdump(UNAUTHORIZED) + "\n").encode()))
        return ApiError(code, reason, msg, details, headers)

    def authenticate(self, app):
        """Returns (user, groups) or None."""
        if not app.tls:
            ident = ("system:anonymous", ["system:unauthenticated"])
        else:
            ident = None
            # The client certificate is fixed at the handshake: decode it once
            # per connection, not per request.
            cert = getattr(self, "peer_cert", False)
            if cert is False:
                try:
                    cert = self.connection.getpeercert()
                except (AttributeError, ValueError, ssl.SSLError):
                    cert = None
                self.peer_cert = cert
            if cert:
                cn, orgs = None, []
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            cn = v
                        elif k == "organizationName":
                            orgs.append(v)
                if cn:
                    ident = (cn, orgs + ["system:authenticated"])
            if ident is None:
                auth = self.headers.get("Authorization") or ""
                if auth.lower().startswith("bearer "):
                    tok = auth[7:].strip()
                    if tok in app.tokens:
                        u, g = app.tokens[tok]
                        ident = (u, list(g) + ["system:authenticated"])
            if ident is None:
                return None
        iu = self.headers.get("Impersonate-User")
        if iu:
            if authz_denied(app.authz, ident[0], ident[1], "impersonate", "", "users", "", iu, ""):
                raise ApiError(403, "Forbidden", 'users "%s" is forbidden: User "%s" cannot impersonate resource '
                                                 '"users" in API group "" at the cluster scope' % (iu, ident[0]),
                               {"name": iu, "kind": "users"})
            ident = (iu, (self.headers.get_all("Impersonate-Group") or []) + ["system:authenticated"])
        return ident

    def accepts_table(self):
        return "as=Table" in (self.headers.get("Accept") or "")

    # ---- routing
    def route(self, app, path, query, body, ctype, ident, warnings):
        user, groups = ident
        m = self.command
        if path in ("/healthz", "/livez", "/readyz") or re.fullmatch(r"/(healthz|livez|readyz)/.*", path):
            if app.store.closing:
                return self.send(500, "shutting down\n", "text/plain; charset=utf-8")
            return self.send(200, "ok", "text/plain; charset=utf-8")
        if path == "/version":
            return self.send(200, {"major": "1", "minor": SERVER_MINOR,
                                   "gitVersion": "v1.%s.9-kubetest" % SERVER_MINOR,
                                   "gitCommit": "0000000000000000000000000000000000000000",
                                   "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z",
                                   "goVersion": "go1.23.12", "compiler": "gc", "platform": "linux/amd64"})
        if path.startswith("/openapi/"):
            return self.openapi(app, path)
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        if not parts or parts[0] not in ("api", "apis"):
            return self.not_found_text()
        reg = app.store.registry
        accept = self.headers.get("Accept") or ""
        aggregated = app.opts.discovery == "aggregated" and "as=APIGroupDiscoveryList" in accept and \
            "v=v2;" in accept.replace(" ", "") + ";"
        if parts == ["api"]:
            if m != "GET":
                return self.method_not_allowed()
            if aggregated:
                return self.send(200, aggregated_discovery(reg, True),
                                 "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
            return self.send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "%s:%d" % (LISTEN_HOST, app.port)}]})
        if parts == ["apis"]:
            if m != "GET":
                return self.method_not_allowed()
            if aggregated:
                return self.send(200, aggregated_discovery(reg, False),
                                 "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
            groups = [dict(api_group(g, vs)) for g, vs in reg.groups() if g]
            return self.send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        else:
            if len(parts) == 2:
                for g, vs in reg.groups():
                    if g == parts[1] and g:
                        d = api_group(g, vs)
                        d.update({"kind": "APIGroup", "apiVersion": "v1"})
                        return self.send(200, d)
                return self.not_found_text()
            group, version, rest = parts[1], parts[2], parts[3:]
        if not any(g == group and version in vs for g, vs in reg.groups()):
            return self.not_found_text()
        if not rest:
            if m != "GET":
                return self.method_not_allowed()
            return self.send(200, api_resource_list(reg, group, version))
        watch_prefix = False
        if rest[0] == "watch":
            watch_prefix = True
            rest = rest[1:]
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces" and not (len(rest) == 3 and rest[2] in ("status",
                                                                                              "finalize")):
            ns = rest[1]
            rest = rest[2:]
        if not rest or len(rest) > 3:
            return self.not_found_text()
        res = reg.lookup(group, version, rest[0])
        if res is None:
            return self.not_found_text()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if ns is not None and not res.namespaced:
            return self.not_found_text()
        if res.namespaced and ns is None and name is not None:
            return self.not_found_text()
        if sub is not None and not ((sub == "status" and res.has_status) or (sub == "scale" and res.has_scale)):
            return self.not_found_text()
        if name == "":
            return self.not_found_text()
        ctx = Ctx(user, groups, query, self.headers.get("User-Agent", ""), self.headers)
        is_watch = watch_prefix or (m == "GET" and name is None and (query.get("watch") or [""])[0] in
                                    ("true", "1"))
        if name is None:
            verb = {"GET": "watch" if is_watch else "list", "POST": "create",
                    "DELETE": "deletecollection"}.get(m)
        else:
            verb = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(m)
            if m == "GET" and is_watch:
                verb = "watch"
        if verb is None or (verb not in res.verbs and (verb not in ("get", "list", "watch")
                                                       or res.resource in VIRTUAL)):
            return self.method_not_allowed()

        def authorize(v, nm=name):
            if authz_denied(app.authz, user, groups, v, res.group,
                            res.resource + ("/" + sub if sub else ""), ns, nm, path):
                raise forbidden_error(user, v, res, sub, ns, nm)

        authorize(verb)
        ctx.authorize = authorize
        api = app.api
        rns = ns or ""
        if verb == "watch":
            return self.watch(app, ctx, res, ns, name)
        if verb == "list":
            if self.accepts_table():
                lst = api.list(ctx, res, ns)
                objs = [api.in_version(res, dict(o, apiVersion=res.gv, kind=res.kind)) for o in lst["items"]]
                t = make_table(res, objs, lst["metadata"]["resourceVersion"], ctx.q("includeObject", "Metadata"))
                t["metadata"].update({k: v for k, v in lst["metadata"].items() if k != "resourceVersion"})
                return self.send(200, t)
            return self.send(200, api.list(ctx, res, ns))
        if verb == "get":
            obj = api.get(ctx, res, rns, name, sub)
            if self.accepts_table() and sub is None:
                return self.send(200, make_table(res, [obj], obj["metadata"].get("resourceVersion", ""),
                                                 ctx.q("includeObject", "Metadata")))
            return self.send(200, obj)
        if verb == "deletecollection":
            code, out = api.delete_collection(ctx, res, ns, body)
            return self.send(code, out)
        if verb == "delete":
            code, out = api.delete(ctx, res, rns, name, body)
            return self.send(code, out)
        hdrs = {}
        if verb == "create" and res.resource in VIRTUAL:
            if "protobuf" in (ctype or ""):
                obj = decode_review_protobuf(body)
            else:
                obj = self.decode_write_body(body, ctype)
            return self.send(201, self.review(app, res, obj, user, groups))
        if verb == "create":
            obj = self.decode_write_body(body, ctype)
            code, out = api.create(ctx, res, rns, obj)
        elif verb == "update":
            obj = self.decode_write_body(body, ctype)
            code, out = api.update(ctx, res, rns, name, obj, sub)
        else:
            if (ctype or "").split(";")[0].strip() == "application/apply-patch+yaml":
                with app.store.lock:
                    if app.store.get(res, rns, name) is None and sub is None:
                        authorize("create")
            code, out = api.patch(ctx, res, rns, name, body, ctype, sub)
        if ctx.warnings:
            hdrs["Warning"] = ['299 - "%s"' % w.replace('"', '\\"') for w in ctx.warnings]
        return self.send(code, out, "application/json", hdrs)

    def review(self, app, res, obj, user, groups):
        out = {"kind": res.kind, "apiVersion": res.gv, "metadata": {"creationTimestamp": None}}
        if res.resource == "selfsubjectreviews":
            out["status"] = {"userInfo": {"username": user, "groups": groups}}
            return out
        spec = (obj or {}).get("spec") or {}
        out["spec"] = spec
        ra = spec.get("resourceAttributes")
        nra = spec.get("nonResourceAttributes")
        if ra:
            denied = authz_denied(app.authz, user, groups, ra.get("verb", ""), ra.get("group", ""),
                                  ra.get("resource", "") + ("/" + ra["subresource"] if ra.get("subresource") else ""),
                                  ra.get("namespace", ""), ra.get("name", ""), "")
        else:
            denied = authz_denied(app.authz, user, groups, (nra or {}).get("verb", ""), "", None, "", "",
                                  (nra or {}).get("path", ""))
        out["status"] = {"allowed": not denied}
        return out

    def method_not_allowed(self):
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource",
                       {})

    def decode_write_body(self, body, ctype):
        ct = (ctype or "application/json").split(";")[0].strip().lower()
        if ct in ("application/json", "", "*/*"):
            try:
                return json.loads(body.decode("utf-8") if body else "null")
            except (ValueError, UnicodeDecodeError) as e:
                raise err_bad_request("Object 'Kind' is missing in '%s'" % body[:200].decode("utf-8", "replace")
                                      if body.strip()[:1] == b"{" else "couldn't get version/kind; json parse "
                                      "error: %s" % e)
        if ct == "application/vnd.kubernetes.protobuf":
            return decode_object_protobuf(body)
        if ct in ("application/yaml", "application/x-yaml", "text/yaml"):
            try:
                return yaml_load(body.decode("utf-8"))
            except (YamlError, UnicodeDecodeError, ValueError) as e:
                raise err_bad_request("error converting YAML to JSON: %s" % e)
        raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted "
                       "media types include: application/json, application/yaml, "
                       "application/vnd.kubernetes.protobuf")

    def openapi(self, app, path):
        if app.opts.no_openapi:
            return self.not_found_text()
        reg = app.store.registry
        if path.rstrip("/") == "/openapi/v3":
            paths = {}
            for g, vs in reg.groups():
                for v in vs:
                    key = "api/%s" % v if not g else "apis/%s/%s" % (g, v)
                    doc = openapi_gv_doc(reg, g, v)
                    h = hashlib.sha512(jdump(doc).encode()).hexdigest()[:64].upper()
                    paths[key] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (key, h)}
            return self.send(200, {"paths": paths})
        rest = path[len("/openapi/v3/"):].strip("/").split("/") if path.startswith("/openapi/v3/") else []
        if rest[:1] == ["api"] and len(rest) == 2:
            g, v = "", rest[1]
        elif rest[:1] == ["apis"] and len(rest) == 3:
            g, v = rest[1], rest[2]
        else:
            return self.not_found_text()
        if not any(gg == g and v in vs for gg, vs in reg.groups()):
            return self.not_found_text()
        return self.send(200, openapi_gv_doc(reg, g, v), "application/json",
                         {"Etag": '"%s"' % hashlib.sha1(path.encode()).hexdigest()})

    # ---- watch
    def watch(self, app, ctx, res, ns, name):
        api = app.api
        store = app.store
        lsel = parse_label_selector(ctx.q("labelSelector"))
        fsel = parse_field_selector(ctx.q("fieldSelector"), res)
        if name:
            fsel.append(("metadata.name", "=", name))
        rvp = ctx.q("resourceVersion")
        try:
            timeout = float(ctx.q("timeoutSeconds") or 1800)
        except ValueError:
            timeout = 1800
        timeout = max(0.0, min(timeout, 3600))
        bookmarks = ctx.q("allowWatchBookmarks") == "true"
        send_initial = rvp in (None, "", "0") or ctx.q("sendInitialEvents") == "true"

        def matches(o):
            if o is None:
                return False
            md = o["metadata"]
            if ns is not None and md.get("namespace") != ns:
                return False
            return labels_match(lsel, md.get("labels")) and fields_match(fsel, o)

        too_old = False
        with store.lock:
            initial = []
            if send_initial:
                initial = [o for o in store.list(res, ns) if matches(o)]
                last = store.rv
            else:
                try:
                    last = int(rvp)
                except ValueError:
                    raise err_bad_request("invalid resource version: %s" % rvp)
                if store.events and last < store.events[0][0] - 1:
                    too_old = True
        self.unserialize()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.status_sent = 200
        if self.log_entry is not None:
            self.log_entry["status"] = 200
            self.log_entry["watch"] = True
            app.log.add(self.log_entry)
            self.log_entry = None
        plain = not isinstance(self.connection, ssl.SSLSocket)

        def client_gone():
            if not plain:
                return False
            try:
                r, _, _ = select.select([self.connection], [], [], 0)
                return bool(r) and self.connection.recv(1, socket.MSG_PEEK) == b""
            except (OSError, ValueError):
                return True

        def emit(etype, obj):
            data = (jdump({"type": etype, "object": obj}) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        try:
            if too_old:
                emit("ERROR", {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": "too old resource version: %s (%d)" % (rvp, store.events[0][0]),
                               "reason": "Expired", "code": 410})
            else:
                for o in initial:
                    emit("ADDED", api.in_version(res, o))
                if send_initial and bookmarks and ctx.q("sendInitialEvents") == "true":
                    emit("BOOKMARK", {"kind": res.kind, "apiVersion": res.gv, "metadata": {
                        "resourceVersion": str(last), "annotations": {"k8s.io/initial-events-end": "true"}}})
                deadline = time.time() + timeout
                next_bm = time.time() + 5
                while not store.closing:
                    now = time.time()
                    if now >= deadline or client_gone():
                        break
                    with store.cond:
                        evs = [e for e in store.events if e[0] > last]
                        if not evs:
                            store.cond.wait(min(deadline - now, 1.0))
                            evs = [e for e in store.events if e[0] > last]
                    for rv, etype, skey, obj, old in evs:
                        last = rv
                        if skey != res.skey:
                            continue
                        now_m, was_m = matches(obj), matches(old) if etype != "ADDED" else False
                        if etype == "MODIFIED":
                            if now_m and not was_m:
                                etype = "ADDED"
                            elif was_m and not now_m:
                                etype = "DELETED"
                            elif not now_m:
                                continue
                        elif etype == "DELETED":
                            if not matches(old) and not now_m:
                                continue
                        elif not now_m:
                            continue
                        emit(etype, api.in_version(res, obj))
                    if bookmarks and time.time() >= next_bm:
                        emit("BOOKMARK", {"kind": res.kind, "apiVersion": res.gv,
                                          "metadata": {"resourceVersion": str(last)}})
                        next_bm = time.time() + 5
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (OSError, ssl.SSLError):
            self.close_connection = True

    # ---- /_test/ side channel
    def handle_test(self, app, path, query, body):
        m = self.command
        sub = path[len("/_test/"):].strip("/")

        def jbody():
            try:
                return json.loads(body.decode("utf-8")) if body else {}
            except (ValueError, UnicodeDecodeError) as e:
                raise ApiError(400, "BadRequest", "bad JSON: %s" % e)

        if sub == "log" and m == "GET":
            since = int((query.get("since") or ["0"])[0] or 0)
            data = "".join(jdump(e) + "\n" for e in app.log.dump(since))
            return self.send(200, data, "application/x-ndjson")
        if (sub == "reset-log" and m == "POST") or (sub == "log" and m == "DELETE"):
            app.log.reset()
            return self.send(200, {"ok": True})
        if sub == "faults":
            if m == "GET":
                return self.send(200, app.faults.list())
            if m == "DELETE":
                rid = query.get("id")
                app.faults.clear(int(rid[0]) if rid else None)
                return self.send(200, {"ok": True})
            if m == "POST":
                b = jbody()
                try:
                    ids = [app.faults.add(r) for r in (b if isinstance(b, list) else [b])]
                except (ValueError, re.error, TypeError) as e:
                    raise ApiError(400, "BadRequest", str(e))
                return self.send(200, {"ids": ids})
        if sub == "status" and m == "POST":
            return self.send(200, self.test_status(app, jbody()))
        if sub == "config":
            if m == "POST":
                b = jbody()
                if "autoStatus" in b:
                    app.api.auto_status = bool(b["autoStatus"])
                if "autoStatusDelay" in b:
                    app.api.auto_status_delay = float(b["autoStatusDelay"])
            return self.send(200, {"autoStatus": app.api.auto_status, "autoStatusDelay": app.api.auto_status_delay,
                                   "port": app.port, "tls": app.tls, "resourceVersion": str(app.store.rv)})
        if sub == "objects" and m == "GET":
            with app.store.lock:
                return self.send(200, list(app.store.objects.values()))
        if sub == "authz" and m in ("POST", "PUT"):
            b = jbody()
            app.authz = b if isinstance(b, list) else b.get("rules", [])
            return self.send(200, {"rules": len(app.authz)})
        if sub == "reset-store" and m == "POST":
            app.reset_store()
            return self.send(200, {"ok": True})
        return self.send(404, {"error": "unknown test endpoint %s %s" % (m, path)})

    def test_status(self, app, b):
        reg = app.store.registry
        res = None
        av, kind = b.get("apiVersion"), b.get("kind")
        if av and kind:
            res = reg.by_kind(av, kind)
        elif b.get("resource"):
            g = b.get("group", "")
            res = next((r for r in reg.all() if r.group == g and r.resource == b["resource"]
                        and r.version == r.storage_version), None)
        if res is None:
            raise ApiError(404, "NotFound", "unknown kind %s %s" % (av, kind))
        ns = b.get("namespace", "default") if res.namespaced else ""
        with app.store.lock:
            obj = app.store.get(res, ns, b.get("name", ""))
            if obj is None:
                raise err_not_found(res, b.get("name", ""))
            if b.get("ready"):
                obj = app.api.make_ready(res, obj)
            if "status" in b:
                st = b["status"]
                if b.get("merge", True):
                    st = merge_patch(obj.get("status") or {}, st)
                obj = app.api.controller_write(res, obj, st, b.get("manager", "kube-controller-manager"))
            return app.api.in_version(res, obj)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, app, ssl_ctx):
        self.app = app
        self.ssl_ctx = ssl_ctx
        http.server.ThreadingHTTPServer.__init__(self, (LISTEN_HOST, app.opts.port), Handler)

    def finish_request(self, request, client_address):
        # A real API server (Go) sends replies without Nagle's delay; without
        # this, each reply on a kept-alive connection waits ~40 ms.
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if self.ssl_ctx is not None:
            request.settimeout(10)
            try:
                request = self.ssl_ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                try:
                    request.close()
                except OSError:
                    pass
                return
            request.settimeout(None)
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            if self.ssl_ctx is not None:
                try:
                    request.close()
                except OSError:
                    pass

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout, OSError)):
            return
        traceback.print_exc()


def main(argv=None):
    global SERVER_MINOR
    ap = argparse.ArgumentParser(description="A test Kubernetes API server (127.0.0.1 only).")
    ap.add_argument("--port", type=int, default=0, help="port to bind on 127.0.0.1 (default 0: pick a free one)")
    ap.add_argument("--port-file", help="write the bound port to this file once listening")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    ap.add_argument("--tls-key", help="private key for --tls-cert")
    ap.add_argument("--client-ca", help="CA bundle to verify client certificates (requested, not required)")
    ap.add_argument("--tokens", help="static token file: token,user,group1|group2 per line")
    ap.add_argument("--authz", help="deny rules (JSON lines or a JSON array) -> 403")
    ap.add_argument("--state", help="persist the object store to this JSON file (atomic writes)")
    ap.add_argument("--log", help="append the request log (JSON lines) to this file")
    ap.add_argument("--minor", default=SERVER_MINOR, help="minor version reported by /version (default 32)")
    ap.add_argument("--discovery", choices=["aggregated", "legacy"], default="aggregated",
                    help="answer aggregated discovery when the client asks for it (default), or legacy only")
    ap.add_argument("--no-openapi", action="store_true", help="do not serve /openapi/v3")
    ap.add_argument("--auto-status", action="store_true",
                    help="simulate controllers: mark workloads ready/complete after every write")
    ap.add_argument("--auto-status-delay", type=float, default=0.0,
                    help="seconds to wait before the simulated controller writes status")
    opts = ap.parse_args(argv)
    SERVER_MINOR = str(opts.minor)
    if bool(opts.tls_cert) != bool(opts.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    if (opts.client_ca or opts.tokens) and not opts.tls_cert:
        ap.error("--client-ca and --tokens need --tls-cert/--tls-key (credentials are never sent over http)")
    ssl_ctx = None
    if opts.tls_cert:
        ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
        if opts.client_ca:
            ssl_ctx.load_verify_locations(opts.client_ca)
            ssl_ctx.verify_mode = ssl.CERT_OPTIONAL
        try:
            ssl_ctx.set_alpn_protocols(["http/1.1"])
        except NotImplementedError:
            pass
    app = App(opts)
    httpd = Server(app, ssl_ctx)
    app.port = httpd.server_address[1]
    if opts.port_file:
        tmp = opts.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % app.port)
        os.replace(tmp, opts.port_file)
    sys.stderr.write("kubetest: listening on %s://%s:%d\n" % ("https" if ssl_ctx else "http", LISTEN_HOST,
                                                              app.port))
    sys.stderr.flush()

    def stop(signum, frame):
        app.store.closing = True
        with app.store.cond:
            app.store.cond.notify_all()
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        with app.store.lock:
            try:
                app.store.persist()
            except Exception:
                traceback.print_exc()
    return 0


if __name__ == "__main__":
    sys.exit(main())
