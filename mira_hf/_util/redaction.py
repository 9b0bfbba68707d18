"""What counts as a secret in what mira-hf writes (reports, cards, manifests), and how it is hidden.

One definition for every writer: a key named like a credential (``api_key``, ``hub.token``, ``password``…)
and a value that looks like one (``hf_…``/``sk-…`` tokens, ``Bearer …`` headers, the ``user:password@`` of a URL).
"""

from __future__ import annotations

import re

#: Keys whose values are credentials (``max_tokens`` is not: the name must *end* with the secret word).
SECRET_KEY = re.compile(
    r"(^|[._-])(token|api[_-]?key|apikey|secret|password|passwd|authori[sz]ation|"
    r"credentials?|cookie)$",
    re.I,
)
#: Hugging Face / OpenAI-style tokens and bearer headers.
SECRET_VALUE = re.compile(r"\b(hf_[A-Za-z0-9]{16,}|sk-[A-Za-z0-9_-]{16,}|Bearer\s+\S+)")
#: The ``user:password@`` of a URL.
URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")
HIDDEN = "(hidden)"


def is_secret_key(key: str) -> bool:
    """Whether a setting named ``key`` holds a credential.

    Example:
        >>> is_secret_key("hub.token"), is_secret_key("max_tokens")
        (True, False)
    """
    return SECRET_KEY.search(key) is not None


def redact(text: str) -> str:
    """``text`` with every token-like value replaced by ``(hidden)`` and URL credentials removed.

    Example:
        >>> redact("http://me:pw@node1:8000/v1 with hf_abcdefghijklmnopqrstu")
        'http://node1:8000/v1 with (hidden)'
    """
    return SECRET_VALUE.sub(HIDDEN, URL_CREDENTIALS.sub("", text))
