"""Sizes and names shared by the fixtures in ``tests/conftest.py`` and the tests that check them."""

#: Duration factor for the demo in tests: the whole demo is ~350k tokens and writes in ~1 s.
DEMO_TEST_SCALE = 0.02
#: A chunk limit below the longest test-scale demo session (M02 ses-1: 250 units x 2700 bins).
DEMO_TEST_MAX_TOKENS = 200_000

#: Components of the reference-layout and package-layout test piles: (train, test) sessions;
#: ``v2h`` has no test session, as a small component may not.
HUB_PILE_COMPONENTS = {"demo": (3, 1), "v2h": (2, 0), "vbn": (3, 2)}
#: The repo ids the ``*_repo`` fixtures serve.
REFERENCE_REPO = "loopback/neural-pile-rodent"
PACKAGE_REPO = "loopback/neural-pile-rodent-built"
