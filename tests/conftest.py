"""Session-wide synthetic recordings shared by the test files (each written once, small).

Fixtures returning a :class:`builders.synthetic.recordings.SyntheticSession` carry the ground truth the
writer used; the ``*_dir`` fixtures are folders laid out as the archive leaves them, ready for
``builders.archives.list_sessions(component, data_dir=...)``.
"""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack, contextmanager

import pytest

from builders.synthetic.recordings import (
    write_demo_recordings,
    write_firing_rate_session,
    write_mat_subject,
    write_nwb_session,
    write_probe_split_session,
)
from tests.support.bad_recordings import (
    write_inconsistent_index,
    write_not_hdf5,
    write_nwb_without_units,
    write_spikes_without_unit_ids,
    write_truncated,
    write_units_without_spike_times,
    write_unsorted_nan_session,
)
from tests.support.constants import (
    DEMO_TEST_SCALE,
    HUB_PILE_COMPONENTS,
    PACKAGE_REPO,
    REFERENCE_REPO,
)


@pytest.fixture(scope="session")
def demo_recordings_dir(tmp_path_factory):
    """The demo component at :data:`DEMO_TEST_SCALE` (6 sessions, 3 subjects)."""
    out = tmp_path_factory.mktemp("demo")
    write_demo_recordings(out, seed=0, scale=DEMO_TEST_SCALE)
    return out


@pytest.fixture(scope="session")
def nwb_session(tmp_path_factory):
    """One 2-probe NWB session, regions only through the electrodes table."""
    folder = tmp_path_factory.mktemp("nwb")
    return write_nwb_session(
        folder / "sub-T1" / "sub-T1_ses-1_ecephys.nwb",
        subject_id="T1",
        session_id="1",
        n_units=40,
        duration_s=30.0,
        seed=11,
    )


@pytest.fixture(scope="session")
def nwb_file(nwb_session):
    """Path of :func:`nwb_session`'s file."""
    return nwb_session.path


@pytest.fixture(scope="session")
def region_column_session(tmp_path_factory):
    """An NWB session whose units carry a ``location`` column; electrodes say ``unknown``."""
    folder = tmp_path_factory.mktemp("nwb_regions")
    return write_nwb_session(
        folder / "sub-T2_ses-1_ecephys.nwb",
        subject_id="T2",
        session_id="1",
        n_units=25,
        duration_s=20.0,
        seed=12,
        n_probes=3,
        unit_region_column="location",
    )


@pytest.fixture(scope="session")
def lfp_session(tmp_path_factory):
    """A session whose file is mostly LFP (20 s x 96 channels int16, ~10 MB) and few spikes."""
    folder = tmp_path_factory.mktemp("nwb_lfp")
    return write_nwb_session(
        folder / "sub-T3_ses-1_ecephys.nwb",
        subject_id="T3",
        session_id="1",
        n_units=30,
        duration_s=20.0,
        seed=13,
        lfp_seconds=20.0,
    )


@pytest.fixture(scope="session")
def firing_rate_session(tmp_path_factory):
    """A Gonzalez-like file (``acquisition/firing_rates``) in a dandiset-like folder."""
    folder = tmp_path_factory.mktemp("gonzalez")
    return write_firing_rate_session(
        folder / "sub-rat01" / "sub-rat01_ses-1_ecephys.nwb",
        subject_id="rat01",
        session_id="1",
        n_units=15,
        duration_s=20.0,
        seed=21,
        starting_time=2.5,
    )


@pytest.fixture(scope="session")
def firing_rate_dir(firing_rate_session):
    return firing_rate_session.path.parent.parent


@pytest.fixture(scope="session")
def probe_split_sessions(tmp_path_factory):
    """Two Le Merre-like sessions of one subject, one file per probe (``-probeN`` and ``_probeN``)."""
    folder = tmp_path_factory.mktemp("lemerre")
    return [
        write_probe_split_session(
            folder, subject_id="LM1", session_id="1", n_units=24, duration_s=15.0, seed=31, separator="-"
        ),
        write_probe_split_session(
            folder, subject_id="LM1", session_id="2", n_units=30, duration_s=12.0, seed=32, n_probes=3, separator="_"
        ),
    ]


@pytest.fixture(scope="session")
def probe_split_dir(probe_split_sessions):
    return probe_split_sessions[0].path.parent.parent


@pytest.fixture(scope="session")
def mat_subjects(tmp_path_factory):
    """Two Steinmetz-2-like subjects, one ``.mat`` file each."""
    folder = tmp_path_factory.mktemp("steinmetz2")
    return [
        write_mat_subject(folder, subject_id="Krebs", units_per_probe=5, duration_s=15.0, seed=41),
        write_mat_subject(
            folder, subject_id="Waksman", units_per_probe=4, duration_s=10.0, seed=42, clock_offset_s=120.3
        ),
    ]


@pytest.fixture(scope="session")
def mat_dir(mat_subjects):
    return mat_subjects[0].path.parent.parent


@pytest.fixture(scope="session")
def bad_nwb_files(tmp_path_factory, nwb_file):
    """Broken NWB files by kind of damage; each must give a ReaderError naming the file."""
    folder = tmp_path_factory.mktemp("bad")
    return {
        "not_hdf5": write_not_hdf5(folder / "sub-B1_ses-text_ecephys.nwb"),
        "no_units": write_nwb_without_units(folder / "sub-B1_ses-nounits_ecephys.nwb"),
        "no_spike_times": write_units_without_spike_times(folder / "sub-B1_ses-nospikes_ecephys.nwb"),
        "bad_index": write_inconsistent_index(folder / "sub-B1_ses-badindex_ecephys.nwb"),
        "spikes_without_units": write_spikes_without_unit_ids(folder / "sub-B1_ses-noids_ecephys.nwb"),
        "truncated": write_truncated(folder / "sub-B1_ses-truncated_ecephys.nwb", nwb_file),
    }


@pytest.fixture(scope="session")
def unsorted_nan_file(tmp_path_factory):
    """``(path, trains)`` of an NWB file with an unsorted train, NaN times and a silent unit."""
    return write_unsorted_nan_session(tmp_path_factory.mktemp("unsorted") / "sub-B2_ses-1_ecephys.nwb")


class SharedRay:
    """The Ray instances of :data:`RAY_FIXTURES`, shared by the tests that use them: each started by
    the first test that asks for it, all ended as soon as the next test uses none of them
    (:func:`pytest_runtest_teardown`), and started again if a later test asks. Those tests run one
    after another in one process (:func:`pytest_itemcollected`), so each instance starts once."""

    def __init__(self) -> None:
        self._open = ExitStack()
        self._values: dict[str, object] = {}

    def get(self, name: str, start):
        """The running instance ``name``; ``start()`` is a context manager that makes one."""
        if name not in self._values:
            self._values[name] = self._open.enter_context(start())
        return self._values[name]

    def end(self) -> None:
        self._values.clear()
        self._open.close()


SHARED_RAY = SharedRay()


@contextmanager
def in_process_ray():
    """A local Ray in this process (2 CPUs, 512 MiB object store, no dashboard); ``RAY_ADDRESS``
    is unset meanwhile and restored afterwards."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    saved = os.environ.pop("RAY_ADDRESS", None)
    from builders.runtime.cluster import connect

    ray = connect(None, num_cpus=2, object_store_mb=512, progress=False)
    try:
        yield ray
    finally:
        ray.shutdown()
        if saved is not None:
            os.environ["RAY_ADDRESS"] = saved


@pytest.fixture
def ray_head():
    """One loopback ``ray start --head`` shared by every ``ray job submit`` test (:class:`SharedRay`)."""
    from tests.support.ray_head import loopback_ray_head

    return SHARED_RAY.get("ray_head", loopback_ray_head)


@pytest.fixture
def local_ray():
    """One in-process local Ray shared by the ``ray`` tests (:class:`SharedRay`); the ``ray`` module."""
    return SHARED_RAY.get("local_ray", in_process_ray)


# -- the Hub stand-in (tests/support/hub_standin.py) ----------------------------------------------


@pytest.fixture
def hub(tmp_path):
    """A running Hub stand-in, with this process's ``huggingface_hub`` and ``datasets`` pointed at
    it (``HF_ENDPOINT``, telemetry off, short ETag timeout) and every cache under
    ``tmp_path / "hf_home"``; restored afterwards. Child processes get the same settings from
    ``os.environ`` while the test runs."""
    from tests.support.hub_standin import HubStandIn, hub_clients

    with HubStandIn() as standin, hub_clients(standin.url, tmp_path / "hf_home"):
        yield standin


@pytest.fixture(scope="session")
def reference_pile(tmp_path_factory):
    """A :class:`reference_pile.ReferencePile` (written once): five columns, components shuffled
    together, 2 train files and 1 test file of 4-row row groups."""
    from tests.support.reference_pile import write_reference_pile

    return write_reference_pile(
        tmp_path_factory.mktemp("reference_pile") / "pile", HUB_PILE_COMPONENTS, seed=5, row_group_rows=4
    )


@pytest.fixture
def reference_layout_repo(hub, reference_pile):
    """``(repo_id, pile)``: :func:`reference_pile` served as :data:`REFERENCE_REPO` on ``main``."""
    hub.add_repo(REFERENCE_REPO, reference_pile.folder)
    return REFERENCE_REPO, reference_pile


@pytest.fixture(scope="session")
def package_pile_folder_and_rows(tmp_path_factory):
    """``(folder, written)``: a pile folder in this package's own layout (tests/support/pile_folder.py)."""
    from tests.support.pile_folder import write_pile_folder

    folder = tmp_path_factory.mktemp("package_pile") / "pile"
    return folder, write_pile_folder(folder, HUB_PILE_COMPONENTS, seed=6)


@pytest.fixture
def package_layout_repo(hub, package_pile_folder_and_rows, tmp_path):
    """``(repo_id, written)``: a copy of :func:`package_pile_folder_and_rows`'s folder served as :data:`PACKAGE_REPO`."""
    import shutil

    folder, written = package_pile_folder_and_rows
    copy = shutil.copytree(folder, tmp_path / "package_repo_copy")
    hub.add_repo(PACKAGE_REPO, copy)
    return PACKAGE_REPO, written


#: Fixtures that start Ray; a test using one must carry the ``ray`` marker (``make test-fast`` skips it).
RAY_FIXTURES = {"local_ray", "ray_head"}


def uses_shared_ray(item) -> bool:
    """Whether the test asks for a :data:`RAY_FIXTURES` fixture (:class:`SharedRay`)."""
    return bool(RAY_FIXTURES & set(getattr(item, "fixturenames", ())))


#: Run order, first to last: the ``ray`` tests, then the ones that run the README or wait on
#: wide-area stand-ins (the longest single tests), then the rest. Under ``make test``
#: (``pytest -n 3 --dist loadgroup``) the shared-Ray group and the README's Ray recipe, which
#: mostly wait on Ray, start first on two workers while the third takes the rest; the long tests
#: follow early, so no worker ends the run alone on one of them.
RUN_ORDER = (("ray",), ("readme", "wan"))


def _run_rank(item) -> int:
    for rank, markers in enumerate(RUN_ORDER):
        if any(item.get_closest_marker(marker) is not None for marker in markers):
            return rank
    return len(RUN_ORDER)


def pytest_itemcollected(item):
    """Put the tests that use a shared Ray fixture (:data:`RAY_FIXTURES`) in one xdist group, so
    one worker runs them one after another on one Ray; a ``ray`` test that starts its own Ray
    (the README's recipe) stays a unit of its own that another worker can run meanwhile. Marked
    as collected: xdist reads the groups in its own ``pytest_collection_modifyitems``."""
    if uses_shared_ray(item):
        item.add_marker(pytest.mark.xdist_group("shared_ray"))


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config, items):
    """Refuse a test that starts Ray through a fixture without saying so with ``@pytest.mark.ray``
    (before the other plugins deselect), then, once xdist has named the groups, refuse a worker on
    which the group was lost, and order the tests by :data:`RUN_ORDER`."""
    unmarked = [item.nodeid for item in items if uses_shared_ray(item) and item.get_closest_marker("ray") is None]
    if unmarked:
        raise _usage_error("tests using a Ray fixture need @pytest.mark.ray: " + ", ".join(unmarked))
    yield
    if getattr(config.option, "loadgroup", False):  # set on an xdist worker under --dist loadgroup
        lost = [item.nodeid for item in items if uses_shared_ray(item) and not item.nodeid.endswith("@shared_ray")]
        if lost:
            raise _usage_error(
                f"pytest-xdist did not group {lost[0]} with the other shared-Ray tests (with pytest 9.2 and "
                "newer it drops xdist_group marks, pytest-dev/pytest-xdist#1386); install the locked pytest"
            )
    items.sort(key=_run_rank)  # stable: collection order within a rank


def _usage_error(message: str) -> pytest.UsageError:
    print(f"ERROR: {message}", file=sys.stderr)  # printed here: pytest_unconfigure ends the process first
    return pytest.UsageError(message)


@pytest.hookimpl(trylast=True)  # after the test's own fixtures are torn down
def pytest_runtest_teardown(item, nextitem):
    """End the shared Ray once the next test (if any) uses none of it."""
    if nextitem is None or not uses_shared_ray(nextitem):
        SHARED_RAY.end()


def pytest_unconfigure(config):
    """End the test process as soon as pytest has reported, without the interpreter's teardown.

    After every test has passed and pytest has printed its summary, the interpreter's own
    finalization of the native libraries loaded by the suite (pyarrow, h5py, Ray's driver, the Hub
    client's transfer threads) has been seen to end in a segmentation fault on this machine
    (exit 139 after "N passed"), which would turn a green run red. Nothing is left to write at
    that point, so the process exits with pytest's own status instead; a failing test still
    fails the run.
    """
    status = getattr(config, "_neural_pile_exit_status", None)
    if status is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(status))


def pytest_sessionfinish(session, exitstatus):
    session.config._neural_pile_exit_status = exitstatus
