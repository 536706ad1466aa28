"""The pool the subprocess tests of this folder share: two scripts at a time."""

import pytest
from distribute_cases import Background


@pytest.fixture(scope="session")
def background():
    pool = Background()
    yield pool
    pool.close()
