"""The data a browser would send for a page's form: read from the HTML the server sent,
so that tests post what a person (or an attacker replaying the page) really can."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, form_id: str | None):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: tuple[str, bool] | None = None
        self._select_default: str | None = None
        self._select_chosen = False
        self._option_value: str | None = None
        self._option_text: list[str] = []
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"id": a.get("id"), "action": a.get("action"), "data": []}
            return
        if self._form is None or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._form["data"].append((name, a.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "select" and name:
            self._select = (name, "multiple" in a)
            self._select_default, self._select_chosen = None, False
        elif tag == "option" and self._select is not None:
            self._option_value = a.get("value")
            self._option_text = []
            if self._select_default is None:
                self._select_default = a.get("value", "")
            if "selected" in a:
                self._select_chosen = True
                self._form["data"].append((self._select[0], a.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None and self._form is not None:
            text = "".join(self._text)
            self._form["data"].append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, multiple = self._select
            if not self._select_chosen and not multiple and self._select_default is not None:
                self._form["data"].append((name, self._select_default))
            self._select = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None


def form_data(html: str, form_id: str | None = None) -> dict[str, str | list[str]]:
    """The fields of the page's form (the one with ``form_id``, or the first that carries a
    CSRF token), as ``client.post`` takes them: repeated names become lists."""
    reader = _FormReader(form_id)
    reader.feed(html)
    forms = [f for f in reader.forms if form_id is None or f["id"] == form_id]
    if form_id is None:
        forms = [f for f in forms if any(n == "csrfmiddlewaretoken" for n, _ in f["data"])] or forms
    if not forms:
        raise LookupError(f"no form {form_id or ''} on the page")
    data: dict[str, str | list[str]] = {}
    for name, value in forms[0]["data"]:
        if name in data:
            previous = data[name]
            data[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            data[name] = value
    return data
