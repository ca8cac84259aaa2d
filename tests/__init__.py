import pytest

# Helper modules with assertions that test modules also import directly: have pytest rewrite them either way.
pytest.register_assert_rewrite("tests.lti_platform", "tests.helpers")
