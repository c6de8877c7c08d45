"""Config loading: a directory of YAML/TOML files → one validated, resolved `Config`.

The flow, one module each: `sources` finds and parses files (`fastyaml` is PyYAML's exact
fast path), `secretrefs` expands `${NAME}`, `schema` validates (`explain` words its errors and
keeps what of a refused entry can still be checked), `filepart` turns one file into its part,
`readers` reads many (some in a forked helper when large), `resolve` meets entries with the
defaults, `load` merges the parts under the cross-file rules, and `problems`/`report` collect
and print every error in one pass.
"""

from alertd.config.load import DEFAULT_REMIND, Config, ConfigCache, load_config
from alertd.config.problems import ConfigError, Problem
from alertd.config.report import load_or_report, print_problems

__all__ = ["DEFAULT_REMIND", "Config", "ConfigCache", "ConfigError", "Problem", "load_config", "load_or_report",
           "print_problems"]
