"""Every default configuration key can be overridden from the environment, service switches included."""

from __future__ import annotations

from stackstore.config import load_config
from stackstore.launcher import Cloud


def test_environment_switches_services_off(tmp_path):
    env = {"STACKSTORE_CLUSTER_DATA_DIR": str(tmp_path), "STACKSTORE_IMAGES_ENABLED": "false",
           "STACKSTORE_COMPUTE_ENABLED": "0", "STACKSTORE_VOLUMES_BACKUP_WORKERS": "2"}
    conf = load_config(environ=env)
    assert (conf["images"]["enabled"], conf["compute"]["enabled"], conf["identity"]["enabled"]) == \
        (False, False, True)
    assert conf["volumes"]["backup_workers"] == 2
    cloud = Cloud(conf)
    cloud.prepare()
    assert {"identity", "volumes"} <= set(cloud.services) and not {"images", "compute"} & set(cloud.services)
