# SPDX-License-Identifier: MIT
"""The GitHub runner's workflow-command parser, rule for rule, for tests that feed it the gate's
real stdout. Source: actions/runner 258d6c857db3, src/Runner.Common/ActionCommand.cs (TryParseV2,
TryParse), src/Runner.Worker/ActionCommandManager.cs (TryProcessCommand, stop-commands),
src/Runner.Worker/Handlers/OutputManager.cs (OnDataReceived), src/Runner.Sdk/ProcessInvoker.cs
(StreamReader.ReadLine). SECURITY.md lists the rules.

    cmds = RunnerLog(); cmds.feed(stdout_text)
    cmds.commands   [Command(line_no, form "v2"|"legacy", name, props, data, raw)]
    cmds.masks      values registered by add-mask, in order
    cmds.masked_lines  the output as the runner would show it (masks applied)
"""

# .NET Char.IsWhiteSpace: what String.TrimStart() removes before TryParseV2 looks for "::"
WHITESPACE = set("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | \
    {chr(c) for c in range(0x2000, 0x200b)}

# every IActionCommandExtension the runner registers, plus stop-commands
# (internal-set-repo-path only while a plugin runs)
REGISTERED = {"stop-commands", "set-env", "set-output", "save-state", "add-mask", "add-path",
              "add-matcher", "remove-matcher", "debug", "warning", "error", "notice", "group",
              "endgroup", "echo"}

# ActionCommand._escapeDataMappings / _escapePropertyMappings / _escapeMappings (legacy)
_DATA = [("%0D", "\r"), ("%0A", "\n"), ("%25", "%")]
_PROP = [("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")]
_LEGACY = [("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%25", "%")]


def _unescape(s, table):
    for rep, tok in table:
        s = s.replace(rep, tok)
    return s


class Command:
    def __init__(self, line_no, form, name, props, data, raw):
        self.line_no, self.form, self.name, self.props, self.data, self.raw = \
            line_no, form, name, props, data, raw

    def __repr__(self):
        return "Command(%d, %s, %r, %r, %r)" % (self.line_no, self.form, self.name, self.props, self.data)


def split_lines(text):
    """StreamReader.ReadLine: a line ends at \\r\\n, \\r or \\n."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def try_parse_v2(message, registered):
    """ActionCommand.TryParseV2: '::name k=v,k=v::data' after leading white space."""
    if not message:
        return None
    i = 0
    while i < len(message) and message[i] in WHITESPACE:
        i += 1
    message = message[i:]
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if name.lower() not in registered:
        return None
    props = {}
    if space > 0:
        for p in (x for x in info[space + 1:].strip().split(",") if x):
            pair = [x for x in p.split("=", 1) if x]
            if len(pair) == 2:
                props[pair[0].lower()] = _unescape(pair[1], _PROP)
    return name, props, _unescape(message[end + 2:], _DATA)


def try_parse_legacy(message, registered):
    """ActionCommand.TryParse: '##[name k=v;k=v]data' anywhere in the line."""
    if not message:
        return None
    start = message.find("##[")
    if start < 0:
        return None
    rb = message.find("]", start)
    if rb < 0:
        return None
    info = message[start + 3:rb]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if name.lower() not in registered:
        return None
    props = {}
    if space > 0:
        for p in (x for x in info[space + 1:].split(";") if x):
            pair = [x for x in p.split("=", 1) if x]
            if len(pair) == 2:
                props[pair[0].lower()] = _unescape(pair[1], _LEGACY)
    return name, props, _unescape(message[rb + 1:], _LEGACY)


class RunnerLog:
    """ActionCommandManager over a whole stream: stop-commands pauses processing until the
    token comes back as a command; add-mask registers a secret (and each of its lines)."""

    def __init__(self):
        self.registered = set(REGISTERED)
        self.commands = []
        self.masks = []
        self.stopped_by = None
        self.lines = []
        self.masked_lines = []

    def _mask(self, line):
        for m in sorted(self.masks, key=len, reverse=True):
            line = line.replace(m, "***")
        return line

    def feed(self, text):
        for line in split_lines(text):
            n = len(self.lines)
            self.lines.append(line)
            hit = None
            if "##[" in line or "::" in line:
                hit = try_parse_v2(line, self.registered)
                form = "v2"
                if hit is None:
                    hit = try_parse_legacy(line, self.registered)
                    form = "legacy"
            if hit is None:
                self.masked_lines.append(self._mask(line))
                continue
            name, props, data = hit
            if self.stopped_by is not None:
                if name.lower() == self.stopped_by.lower():
                    self.registered.discard(self.stopped_by.lower())
                    self.stopped_by = None
                    self.commands.append(Command(n, form, name, props, data, line))
                # while stopped every other command is plain output
                self.masked_lines.append(self._mask(line))
                continue
            self.commands.append(Command(n, form, name, props, data, line))
            if name.lower() == "stop-commands":
                self.stopped_by = data
                self.registered.add(data.lower())
            elif name.lower() == "add-mask" and data.strip():
                self.masks.append(data)
                for part in data.replace("\r", "\n").split("\n"):
                    if part.strip() and part.strip() not in self.masks:
                        self.masks.append(part.strip())
            if name.lower() != "add-mask":
                self.masked_lines.append(self._mask(line))
        return self

    def first_line_with(self, needle):
        for i, line in enumerate(self.lines):
            if needle in line:
                return i
        return None

    def first_mask_line(self, value):
        for c in self.commands:
            if c.name.lower() == "add-mask" and c.data == value:
                return c.line_no
        return None
