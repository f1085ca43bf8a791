# Types of the lazily imported public API (scalelint/__init__.py imports it on first use).
from scalelint.api import CheckResult as CheckResult
from scalelint.api import check_paths as check_paths
from scalelint.api import check_source as check_source

__version__: str
__all__: list[str]
