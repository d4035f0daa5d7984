"""The code phase rolls out whenever a Deployment runs another image than the target, whatever git says."""

import pytest

from shipit.core.errors import BadInput
from shipit.kube.records import ReleaseRecord
from shipit.kube.serving import WorkloadImages, app_containers, decide_code

T = "reg/shop:" + "b" * 40
OLD = "reg/shop:" + "a" * 40


def dep(name, **containers):
    return {"metadata": {"name": name},
            "spec": {"template": {"spec": {"containers": [{"name": c, "image": i} for c, i in containers.items()]}}}}


def test_hand_set_image_is_rolled_back_to_target_though_git_saw_no_code_change():
    d = decide_code([WorkloadImages("web", {"web": "reg/shop:hotfix"}), WorkloadImages("worker", {"worker": T})], T)
    assert d.to_roll == ("web",)
    assert d.describe() == "web serving reg/shop:hotfix; worker serving " + T


def test_everything_on_target_skips_with_the_reason():
    d = decide_code([WorkloadImages("web", {"web": T}), WorkloadImages("worker", {"worker": T})], T)
    assert d.to_roll == () and d.skip_reason() == f"every workload already runs {T}"
    assert d.describe() == f"web, worker serving {T}" and d.serving == {"web": {"web": T}, "worker": {"worker": T}}


def test_migration_only_commit_still_rolls_out_when_images_lag():
    assert decide_code([WorkloadImages("web", {"web": OLD})], T).to_roll == ("web",)


def test_one_of_two_app_containers_behind_is_a_difference():
    assert decide_code([WorkloadImages("web", {"web": T, "jobs": OLD})], T).to_roll == ("web",)


def test_app_containers_by_repository_ignore_sidecars():
    d = dep("web", web=OLD, proxy="gcr.io/cloudsql-proxy:2")
    assert app_containers(d, (), "reg/shop") == {"web": OLD}
    assert app_containers(d, ("proxy",), "reg/shop") == {"proxy": "gcr.io/cloudsql-proxy:2"}


@pytest.mark.parametrize("containers, repo, words", [((), "reg/other", "no container uses image repository reg/other"),
                                                      (("api",), "reg/shop", "api not in Deployment web")])
def test_app_containers_name_what_to_fix(containers, repo, words):
    with pytest.raises(BadInput) as e:
        app_containers(dep("web", web=OLD), containers, repo)
    assert words in str(e.value)


def test_record_keeps_what_serves_and_reads_old_records_without_it():
    r = ReleaseRecord(id="r0001", sequence=1, app="shop", serving={"web": {"web": T}})
    assert ReleaseRecord.from_json(r.to_json()).serving == {"web": {"web": T}}
    data = r.to_json()
    del data["serving"]
    assert ReleaseRecord.from_json(data).serving == {}
