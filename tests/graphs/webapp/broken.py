"""An http.app whose import fails, as when a dependency is not installed."""

import a_package_that_is_not_installed  # noqa: F401
