"""The one place test fixtures are registered.

Fixtures that build data with a known answer live in the modules below (one per concern, so they are
never copied between test files); this file only registers them.
"""

pytest_plugins = [
    "fixtures.browser",
    "fixtures.data",
    "fixtures.dynamics",
    "fixtures.learning_curves",
    "fixtures.diagnosis",
    "fixtures.postgres",
    "fixtures.scenarios",
    "fixtures.torchrun",
    "fixtures.training",
]
