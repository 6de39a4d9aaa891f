#!/usr/bin/python3
"""labscenario - read and check a lab scenario file (tests/lab/README.md).

parse(path) returns a Scenario: settings ([lab]), hosts by name in file
order ([hosts]) and DNS records ([dns]), validated, with each mail host's
derived list of the domains it must accept. Every error is a
ScenarioError naming the file and line. Standard library only.
"""

import ipaddress
import os
import re
import shlex

ZONE = "test."                      # RFC 2606: reserved, never delegated
LAB_SUFFIX = "lab.test."            # generated names of the lab hosts
LAB_NETS = [ipaddress.ip_network("198.18.0.0/15"),    # RFC 2544
            ipaddress.ip_network("2001:2::/48")]      # RFC 5180
LOOPBACK_NETS = [ipaddress.ip_network("127.0.0.0/8"),
                 ipaddress.ip_network("::1/128")]
TTL = 300
DEFAULT_USERS = ["alice", "bob", "carol", "postmaster"]

KINDS = ("dns", "postfix", "smtp", "none", "canary", "redis")
STAGES = ("banner", "ehlo", "mail", "rcpt")

# Scripted behaviours and their own parameters: name -> {param: (type,
# default)}. Parameters every smtp host takes are in SMTP_COMMON.
BEHAVIOURS = {
    "users": {},
    "catchall": {},
    "greylist": {"greylist_delay": (float, 2.0)},
    "tarpit": {"banner_delay": (float, 20.0)},
    "drop": {"drop_after": (STAGES, "banner")},
    "busy421": {},
    "garbage": {"text": (str, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3")},
    "endless": {"stage": (STAGES, "ehlo")},
    "longline": {"stage": (STAGES, "banner"), "length": (int, 100000)},
    "full": {},
    "blocked": {},
    "limit452": {"max_rcpt": (int, 3)},
    "hangup": {"max_errors": (int, 3)},
    "starttls": {},
    "open-relay-partial": {},
    "open-relay": {},
}
SMTP_COMMON = {
    "behaviour": (str, None),
    "users": (list, None),
    "domains": (list, []),
    "pipelining": (bool, True),
    "ehlo": (("ok", "reject"), "ok"),
    "delay": (float, 0.0),
    "rtt": (float, 0.0),
    "port": (int, 25),
    "idle_timeout": (float, 120.0),
}
KIND_PARAMS = {
    "dns": {},
    "none": {},
    "postfix": {"users": (list, None), "domains": (list, [])},
    "canary": {"port": (int, 25), "selftest_from": (list, [])},
    "redis": {"port": (int, 6379)},
}
RR_TYPES = ("A", "AAAA", "MX", "CNAME", "TXT", "ADDR", "SERVFAIL")
HOST_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class ScenarioError(Exception):
    pass


class Host:
    def __init__(self, name, addrs, kind, params, where):
        self.name = name
        self.addrs = addrs          # ipaddress objects, in file order
        self.kind = kind
        self.params = params        # validated, defaults filled in
        self.where = where
        self.domains = []           # mail domains routed here (derived)

    def v4(self):
        return [a for a in self.addrs if a.version == 4]

    def v6(self):
        return [a for a in self.addrs if a.version == 6]

    def lab_addrs(self):
        """Addresses that go on the namespace's loopback."""
        return [a for a in self.addrs if not a.is_loopback]


class Record:
    def __init__(self, owner, rtype, data, where):
        self.owner = owner
        self.rtype = rtype
        self.data = data
        self.where = where


class Scenario:
    def __init__(self, path):
        self.path = path
        self.settings = {"users": list(DEFAULT_USERS), "ttl": TTL}
        self.hosts = {}
        self.order = []
        self.records = []


# ---- parsing ---------------------------------------------------------------

def strip_comment(line):
    """strip_comment - drop a '#' comment that is not inside double quotes."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted and (i == 0 or line[i - 1].isspace()):
            return line[:i].strip()
    return line.strip()


def fqdn(name, where, wildcard=False):
    """fqdn - lower-case absolute name under the lab zone, checked. An
    owner name (wildcard=True) may start with the label "*" (RFC 4592)."""
    n = name.lower()
    if not n.endswith("."):
        n += "."
    if n == ".":
        return n
    labels = n[:-1].split(".")
    if wildcard and labels[0] == "*" and len(labels) > 2:
        labels = labels[1:]
    for label in labels:
        if not LABEL_RE.match(label):
            raise ScenarioError("%s: bad DNS name %r" % (where, name))
    if not (n == ZONE or n.endswith("." + ZONE)):
        raise ScenarioError("%s: %r is not under %s: the lab serves only "
                            "the reserved TLD" % (where, name, ZONE))
    return n


def convert(value, spec, key, where):
    """convert - check one key=value parameter against its (type, default)."""
    typ = spec[0]
    if isinstance(typ, tuple):
        if value not in typ:
            raise ScenarioError("%s: %s must be one of %s" %
                                (where, key, ", ".join(typ)))
        return value
    try:
        if typ is bool:
            if value not in ("yes", "no"):
                raise ValueError
            return value == "yes"
        if typ is list:
            return [v for v in value.split(",") if v]
        if typ is int:
            v = int(value)
            if v < 0:
                raise ValueError
            return v
        if typ is float:
            v = float(value)
            if not v >= 0:
                raise ValueError
            return v
    except ValueError:
        raise ScenarioError("%s: bad value %r for %s" % (where, value, key))
    return value


def parse_params(words, allowed, where, extra_prefix=None):
    """parse_params - key=value words into a dict with defaults filled in."""
    params = {}
    extra = {}
    for w in words:
        key, sep, value = w.partition("=")
        if not sep:
            raise ScenarioError("%s: expected key=value, saw %r" % (where, w))
        if extra_prefix and key.startswith(extra_prefix):
            extra[key[len(extra_prefix):]] = value
            continue
        if key not in allowed:
            raise ScenarioError("%s: unknown parameter %r (known: %s)" %
                                (where, key, ", ".join(sorted(allowed))))
        params[key] = convert(value, allowed[key], key, where)
    for key, spec in allowed.items():
        if key not in params:
            params[key] = spec[1]
    return params, extra


def parse_host(sc, words, where):
    name = words[0]
    if not HOST_NAME_RE.match(name):
        raise ScenarioError("%s: host name %r: use [a-z][a-z0-9_]* (it "
                            "becomes a shell variable name)" % (where, name))
    if name in sc.hosts:
        raise ScenarioError("%s: host %r declared twice" % (where, name))
    addrs = []
    i = 1
    while i < len(words):
        try:
            addrs.append(ipaddress.ip_address(words[i]))
        except ValueError:
            break
        i += 1
    if i >= len(words) or words[i] not in KINDS:
        raise ScenarioError("%s: after the addresses of %r expected a kind "
                            "(%s)" % (where, name, ", ".join(KINDS)))
    kind = words[i]
    if not addrs:
        raise ScenarioError("%s: host %r has no address" % (where, name))
    for a in addrs:
        lab = any(a in n for n in LAB_NETS)
        loop = any(a in n for n in LOOPBACK_NETS)
        if kind in ("canary", "redis"):
            if not loop:
                raise ScenarioError("%s: %s runs on loopback only" %
                                    (where, kind))
        elif not lab:
            raise ScenarioError("%s: %s is outside the lab ranges "
                                "198.18.0.0/15 and 2001:2::/48" % (where, a))
    extra = {}
    if kind == "smtp":
        allowed = dict(SMTP_COMMON)
        beh = [w.split("=", 1)[1] for w in words[i + 1:]
               if w.startswith("behaviour=")]
        if len(beh) != 1 or beh[0] not in BEHAVIOURS:
            raise ScenarioError("%s: smtp host %r needs behaviour=ONE OF %s"
                                % (where, name, " ".join(BEHAVIOURS)))
        allowed.update(BEHAVIOURS[beh[0]])
        params, _ = parse_params(words[i + 1:], allowed, where)
    elif kind == "postfix":
        params, extra = parse_params(words[i + 1:], KIND_PARAMS[kind], where,
                                     extra_prefix="postconf.")
    else:
        params, _ = parse_params(words[i + 1:], KIND_PARAMS[kind], where)
    if kind == "canary":
        for s in params["selftest_from"]:
            try:
                a = ipaddress.ip_address(s)
            except ValueError:
                raise ScenarioError("%s: selftest_from: bad address %r" %
                                    (where, s))
            if not (any(a in n for n in LAB_NETS) or
                    (a.version == 4 and a.is_loopback)):
                raise ScenarioError("%s: selftest_from %s must be a lab or "
                                    "127/8 address" % (where, s))
    if kind in ("postfix", "smtp") and params.get("users") is None:
        params["users"] = None      # filled from [lab] users later
    h = Host(name, addrs, kind, params, where)
    h.postconf = extra
    sc.hosts[name] = h
    sc.order.append(name)


def parse_record(sc, line, where):
    words = line.split(None, 2)
    if len(words) < 2:
        raise ScenarioError("%s: expected OWNER TYPE DATA" % where)
    owner = fqdn(words[0], where, wildcard=True)
    rtype = words[1].upper()
    data = words[2].strip() if len(words) > 2 else ""
    if rtype not in RR_TYPES:
        raise ScenarioError("%s: record type %r not supported (%s)" %
                            (where, words[1], ", ".join(RR_TYPES)))
    if owner == LAB_SUFFIX or owner.endswith("." + LAB_SUFFIX):
        raise ScenarioError("%s: names under %s are generated for the lab "
                            "hosts" % (where, LAB_SUFFIX))
    if rtype == "SERVFAIL":
        if data:
            raise ScenarioError("%s: SERVFAIL takes no data" % where)
    elif not data:
        raise ScenarioError("%s: %s needs data" % (where, rtype))
    elif rtype in ("A", "AAAA"):
        try:
            a = ipaddress.ip_address(data)
        except ValueError:
            raise ScenarioError("%s: bad address %r" % (where, data))
        if (a.version == 4) != (rtype == "A"):
            raise ScenarioError("%s: %s record with an IPv%d address" %
                                (where, rtype, a.version))
        if not any(a in n for n in LAB_NETS + LOOPBACK_NETS):
            raise ScenarioError("%s: %s is outside the lab: records may name "
                                "lab or loopback addresses only" % (where, a))
        data = str(a)
    elif rtype == "MX":
        parts = data.split()
        if len(parts) != 2 or not parts[0].isdigit() or \
                int(parts[0]) > 65535:
            raise ScenarioError("%s: MX data is PREFERENCE HOST" % where)
        data = (int(parts[0]), fqdn(parts[1], where))
    elif rtype == "CNAME":
        data = fqdn(data, where)
    elif rtype == "TXT":
        if not (data.startswith('"') and data.endswith('"') and
                len(data) >= 2):
            raise ScenarioError('%s: TXT data must be "quoted"' % where)
    elif rtype == "ADDR":
        data = data.strip()
    sc.records.append(Record(owner, rtype, data, where))


def parse(path):
    sc = Scenario(os.path.abspath(path))
    section = None
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            where = "%s:%d" % (path, lineno)
            line = strip_comment(raw)
            if not line:
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip()
                if section not in ("lab", "hosts", "dns"):
                    raise ScenarioError("%s: unknown section [%s]" %
                                        (where, section))
                continue
            if section == "lab":
                key, sep, value = line.partition("=")
                key = key.strip()
                if not sep or key not in ("users", "ttl"):
                    raise ScenarioError("%s: [lab] knows users = ... and "
                                        "ttl = N" % where)
                if key == "users":
                    sc.settings["users"] = value.split()
                else:
                    sc.settings["ttl"] = convert(value.strip(), (int, 0),
                                                 key, where)
            elif section == "hosts":
                try:
                    words = shlex.split(line)
                except ValueError as e:
                    raise ScenarioError("%s: %s" % (where, e))
                parse_host(sc, words, where)
            elif section == "dns":
                parse_record(sc, line, where)
            else:
                raise ScenarioError("%s: text before the first section" %
                                    where)
    validate(sc)
    return sc


# ---- checks and derived facts -----------------------------------------------

def validate(sc):
    seen = {}
    for h in sc.hosts.values():
        for a in h.addrs:
            if a.is_loopback:
                continue
            if a in seen:
                raise ScenarioError("%s: address %s already belongs to %s" %
                                    (h.where, a, seen[a]))
            seen[a] = h.name
        if h.kind in ("postfix", "smtp") and h.params["users"] is None:
            h.params["users"] = list(sc.settings["users"])
    dns = [h for h in sc.hosts.values() if h.kind == "dns"]
    if len(dns) != 1 or not dns[0].v4():
        raise ScenarioError("%s: exactly one dns host with an IPv4 address "
                            "is needed" % sc.path)
    for kind in ("canary", "redis"):
        if sum(1 for h in sc.hosts.values() if h.kind == kind) > 1:
            raise ScenarioError("%s: at most one %s host" % (sc.path, kind))

    by_owner = {}
    for r in sc.records:
        by_owner.setdefault(r.owner, []).append(r)
        if r.rtype == "ADDR" and r.data not in sc.hosts:
            raise ScenarioError("%s: ADDR names unknown host %r" %
                                (r.where, r.data))
    for owner, rs in by_owner.items():
        types = {r.rtype for r in rs}
        if "CNAME" in types and len(rs) > 1:
            raise ScenarioError("%s: a CNAME owner has no other records "
                                "(RFC 1034 3.6.2)" % rs[0].where)
        if "SERVFAIL" in types and len(rs) > 1:
            raise ScenarioError("%s: a SERVFAIL name has no records" %
                                rs[0].where)
        if owner == ZONE:
            raise ScenarioError("%s: the zone apex is the lab's own" %
                                rs[0].where)
    for r in sc.records:
        if r.rtype == "SERVFAIL":
            for o in by_owner:
                if o != r.owner and o.endswith("." + r.owner):
                    raise ScenarioError("%s: %s is below the SERVFAIL name "
                                        "%s" % (by_owner[o][0].where, o,
                                                r.owner))
    sc.by_owner = by_owner
    derive_domains(sc)


def records_of(sc, owner):
    """records_of - a name's records; a wildcard one label up stands in
    for a name that has none (enough for the lab's derived facts)."""
    rs = sc.by_owner.get(owner)
    if rs is None and owner.count(".") > 1:
        rs = sc.by_owner.get("*." + owner.split(".", 1)[1])
    return rs or []


def addresses_of(sc, owner):
    """addresses_of - the A/AAAA data a name ends at, following CNAMEs."""
    for _ in range(8):
        rs = records_of(sc, owner)
        cn = [r for r in rs if r.rtype == "CNAME"]
        if not cn:
            break
        owner = cn[0].data
    out = []
    for r in records_of(sc, owner):
        if r.rtype in ("A", "AAAA"):
            out.append(ipaddress.ip_address(r.data))
        elif r.rtype == "ADDR":
            out.extend(sc.hosts[r.data].addrs)
    return owner, out


def mail_domains(sc):
    """mail_domains - second-level names under test.: the lab's domains."""
    out = []
    for owner in sc.by_owner:
        if owner.count(".") == 2 and owner.endswith("." + ZONE):
            out.append(owner)
    return out


def derive_domains(sc):
    """derive_domains - which mail domains each mail host must accept.

    A domain is routed to a host when its MX targets (or, without MX, the
    domain itself: the implicit MX of RFC 5321 5.1) resolve to one of the
    host's addresses, CNAMEs followed. The host's domains= parameter adds
    more."""
    by_addr = {}
    for h in sc.hosts.values():
        for a in h.addrs:
            by_addr.setdefault(a, h)
    for dom in mail_domains(sc):
        target, _ = addresses_of(sc, dom)
        mx = [r for r in records_of(sc, target) if r.rtype == "MX"]
        hosts = [r.data[1] for r in mx if r.data[1] != "."] if mx else [dom]
        for name in hosts:
            _, addrs = addresses_of(sc, name)
            for a in addrs:
                h = by_addr.get(a)
                if h and dom[:-1] not in h.domains:
                    h.domains.append(dom[:-1])
    for h in sc.hosts.values():
        for d in h.params.get("domains") or []:
            d = d.lower().rstrip(".")
            if d not in h.domains:
                h.domains.append(d)
