"""The real ``openstack`` CLI against the cluster: identity CRUD, EC2 and application credentials,
and object storage through the proxy with Keystone tokens; boto3 with EC2 credentials from the CLI."""

from __future__ import annotations

import uuid

import pytest

from tests.identity.helpers import eventually
from tests.s3.conftest import make_client


def _user_args(identity_url: str, user: str, password: str, project: str) -> list[str]:
    return ["--os-auth-url", f"{identity_url}/v3", "--os-identity-api-version", "3", "--os-username", user,
            "--os-password", password, "--os-project-name", project, "--os-user-domain-name", "Default",
            "--os-project-domain-name", "Default", "--os-region-name", "RegionOne"]


@pytest.fixture(scope="module")
def names():
    sfx = uuid.uuid4().hex[:6]
    return {"project": f"cli-proj-{sfx}", "user": f"cli-user-{sfx}", "sfx": sfx}


def test_token_and_catalog(osc, cluster):
    token = osc("token", "issue", "-f", "json")
    assert token["id"].startswith("eyJ") and token["project_id"] == "admin"
    catalog = osc("catalog", "list", "-f", "json")
    types = {entry["Type"] for entry in catalog}
    assert {"identity", "object-store", "volumev3", "block-storage", "compute", "image"} <= types
    demo = osc("token", "issue", "-f", "json", cloud="stackstore")
    assert demo["project_id"] != "admin"


def test_project_user_role_lifecycle(osc, identity_url, names, tmp_path):
    project = osc("project", "create", "--domain", "default", "--description", "cli test", names["project"],
                  "-f", "json")
    assert project["name"] == names["project"]
    assert names["project"] in {p["Name"] for p in osc("project", "list", "-f", "json")}
    user = osc("user", "create", "--domain", "default", "--password", "pw-one", "--project", names["project"],
               "--email", "u@example.com", names["user"], "-f", "json")
    assert user["name"] == names["user"]
    osc("role", "add", "--project", names["project"], "--user", names["user"], "member")
    rows = osc("role", "assignment", "list", "--user", names["user"], "--project", names["project"], "--names",
               "-f", "json")
    assert [r["Role"] for r in rows] == ["member"]
    me = _user_args(identity_url, names["user"], "pw-one", names["project"])
    assert osc(*me, "token", "issue", "-f", "json", cloud="")["project_id"] == project["id"]
    osc("user", "set", "--password", "pw-two", names["user"])
    assert osc(*me, "token", "issue", "-f", "json", cloud="", check=False).returncode != 0
    me2 = _user_args(identity_url, names["user"], "pw-two", names["project"])
    assert osc(*me2, "token", "issue", "-f", "json", cloud="")["user_id"] == user["id"]
    # a member cannot administer identity
    denied = osc(*me2, "user", "list", cloud="", check=False)
    assert denied.returncode != 0 and "403" in denied.stderr


def test_objects_through_proxy(osc, identity_url, names, tmp_path):
    me = _user_args(identity_url, names["user"], "pw-two", names["project"])
    container = f"cli-c-{names['sfx']}"
    osc(*me, "container", "create", container, "-f", "json", cloud="")
    (tmp_path / "hello.txt").write_text("hello from the openstack CLI\n")
    osc(*me, "object", "create", container, "hello.txt", "-f", "json", cloud="", cwd=str(tmp_path))
    listed = osc(*me, "object", "list", container, "-f", "json", cloud="")
    assert [o["Name"] for o in listed] == ["hello.txt"]
    out = tmp_path / "saved.txt"
    osc(*me, "object", "save", "--file", str(out), container, "hello.txt", cloud="")
    assert out.read_text() == "hello from the openstack CLI\n"
    osc(*me, "object", "delete", container, "hello.txt", cloud="")
    assert osc(*me, "object", "list", container, "-f", "json", cloud="") == []


def test_ec2_credentials_with_boto3(osc, identity_url, names, cluster):
    me = _user_args(identity_url, names["user"], "pw-two", names["project"])
    cred = osc(*me, "ec2", "credentials", "create", "-f", "json", cloud="")
    access, secret = cred["access"], cred["secret"]
    assert access in {c["Access"] for c in osc(*me, "ec2", "credentials", "list", "-f", "json", cloud="")}
    s3 = make_client(cluster.proxy_url, key=access, secret=secret)
    bucket = f"cli-bucket-{names['sfx']}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"via ec2 credentials")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"via ec2 credentials"
    # the bucket lives in the project's account, visible to the Swift API with a Keystone token
    listed = osc(*me, "object", "list", bucket, "-f", "json", cloud="")
    assert [o["Name"] for o in listed] == ["k"]
    osc(*me, "ec2", "credentials", "delete", access, cloud="")
    assert access not in {c["Access"] for c in osc(*me, "ec2", "credentials", "list", "-f", "json", cloud="")}

    def refused() -> bool:
        try:
            s3.list_objects_v2(Bucket=bucket)
        except s3.exceptions.ClientError as err:
            return err.response["Error"]["Code"] == "InvalidAccessKeyId"
        return False

    assert eventually(refused, timeout=12)


def test_application_credential(osc, identity_url, names):
    me = _user_args(identity_url, names["user"], "pw-two", names["project"])
    app = osc(*me, "application", "credential", "create", "--role", "member", f"app-{names['sfx']}", "-f", "json",
              cloud="")
    assert app["Secret"] and app["Project ID"]
    env = {"OS_AUTH_TYPE": "v3applicationcredential", "OS_AUTH_URL": f"{identity_url}/v3",
           "OS_APPLICATION_CREDENTIAL_ID": app["ID"], "OS_APPLICATION_CREDENTIAL_SECRET": app["Secret"],
           "OS_IDENTITY_API_VERSION": "3", "OS_REGION_NAME": "RegionOne"}
    token = osc("token", "issue", "-f", "json", cloud="", env=env)
    project = osc("project", "show", names["project"], "-f", "json")
    assert token["project_id"] == project["id"]
    assert osc("container", "list", "-f", "json", cloud="", env=env) is not None


def test_cleanup_role_user_project(osc, names):
    osc("role", "remove", "--project", names["project"], "--user", names["user"], "member")
    assert osc("role", "assignment", "list", "--user", names["user"], "-f", "json") == []
    osc("user", "delete", names["user"])
    osc("project", "delete", names["project"])
    assert names["project"] not in {p["Name"] for p in osc("project", "list", "-f", "json")}
