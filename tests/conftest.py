"""Shared fixtures: one test Settings object for the whole session."""

from __future__ import annotations

import pytest

from ioc.settings import Settings, settings_for_tests


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Test settings: few partitions, short timeouts (see ioc.settings.settings_for_tests)."""
    return settings_for_tests()
