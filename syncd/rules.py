"""The touch rules in force: the config's limits and every address known to be the user's.

Built in one place because the engine (deriving touches), the hold module (whose
declines to skip) and `why` (re-judging stored interactions) must all judge with the
very same rules, or `why` would explain something other than what was counted.
"""

from __future__ import annotations

from syncd.addresses import normalize
from syncd.config import Config
from syncd.store import Store
from syncd.touches import TouchRules


def own_addresses(config: Config, store: Store) -> frozenset[str]:
    """`[user] emails` and the addresses the providers reported as the user's: never touches, never contacts."""
    own = {address for address in (normalize(item) for item in config.user.emails) if address}
    return frozenset(own | store.own_addresses())


def touch_rules(config: Config, store: Store) -> TouchRules:
    """The configured addresses and limits, plus the addresses the providers reported as the user's."""
    return TouchRules(
        own_addresses=own_addresses(config, store),
        max_meeting_size=config.rules.max_meeting_size,
        max_recipients=config.rules.max_recipients,
        blocklist=tuple(config.rules.blocklist),
    )
