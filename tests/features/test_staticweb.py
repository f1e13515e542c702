"""Static websites end to end: a public container with web metadata, read anonymously and in web mode."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest


@pytest.fixture(scope="module")
def site(http, account):
    """Container ``web`` (public, listable) with an index, error pages, a style sheet and a directory tree.

    Returns the container's path (``/v1/AUTH_test/web``)."""
    assert http.put("web", headers={"X-Container-Read": ".r:*,.rlistings"}).status_code in (201, 202)
    files = {"index.html": b"<h1>home</h1>", "404error.html": b"custom not found", "401error.html": b"who?",
             "style.css": b"h1 {}", "dir/a.txt": b"A" * 3000, "dir/sub dir/b.txt": b"b",
             "withindex/index.html": b"nested index"}
    for name, data in files.items():
        assert http.put(f"web/{name}", content=data).status_code == 201
    for marker in ("dir/", "dir", "withindex"):
        assert http.put(f"web/{marker}", content=b"", headers={"Content-Type": "application/directory"}
                        ).status_code == 201
    return urlsplit(account[0]).path + "/web"


def set_web(http, **meta: str) -> None:
    """Replace the container's web metadata with ``meta`` (``index=...``; unset names are removed)."""
    headers = {}
    for name in ("index", "error", "listings", "listings-css", "listings-label", "directory-type"):
        key = name.replace("-", "_")
        if key in meta:
            headers[f"X-Container-Meta-Web-{name}"] = meta[key]
        else:
            headers[f"X-Remove-Container-Meta-Web-{name}"] = "x"
    assert http.post("web", headers=headers).status_code == 204


def test_info_advertises_staticweb_and_formpost(anon):
    info = anon.get("/info").json()
    assert info["staticweb"] == {}
    assert "sha256" in info["formpost"]["allowed_digests"]


def test_index_page_and_redirect_to_slash(http, anon, site):
    set_web(http, index="index.html")
    r = anon.get(site + "/")
    assert r.status_code == 200 and r.content == b"<h1>home</h1>"
    r = anon.get(site)
    assert r.status_code == 301
    assert r.headers["location"] == f"{anon.base_url.scheme}://{anon.base_url.netloc.decode()}{site}/"
    # a directory with its own index: dir -> dir/ -> dir/index.html
    r = anon.get(site + "/withindex")
    assert r.status_code == 301 and r.headers["location"].endswith(f"{site}/withindex/")
    assert anon.get(site + "/withindex/").content == b"nested index"
    assert anon.head(site + "/").status_code == 200
    # authenticated callers see the plain API unless they ask for web mode
    assert http.get("web").headers["content-type"].startswith("text/plain")
    r = http.get("web/", headers={"X-Web-Mode": "true"})
    assert r.status_code == 200 and r.content == b"<h1>home</h1>"


def test_listings_with_css_and_subdirectories(http, anon, site):
    set_web(http, listings="true", listings_css="style.css")
    r = anon.get(site + "/")
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=UTF-8"
    body = r.text
    assert f"<title>Listing of {site}/</title>" in body
    assert '<link rel="stylesheet" type="text/css" href="style.css" />' in body
    assert '<a href="./dir/">dir/</a>' in body and '<a href="./index%2Ehtml">index.html</a>' in body
    assert "a.txt" not in body  # one level only
    r = anon.get(site + "/dir/")
    assert r.status_code == 200
    assert '<link rel="stylesheet" type="text/css" href="../style.css" />' in r.text
    assert '<a href="../">../</a>' in r.text
    assert '<a href="./sub%20dir/">sub dir/</a>' in r.text
    assert '<tr class="item type-text type-plain">' in r.text and '<td class="colsize">3Ki</td>' in r.text
    assert anon.get(site + "/dir").status_code == 301  # a directory marker object reads as its directory
    assert anon.get(site + "/nothing/").status_code == 404
    assert anon.get(site + "/dir/a.txt").content == b"A" * 3000  # objects are served as they are


def test_listings_disabled_and_error_pages(http, anon, site):
    set_web(http, index="missing.html")
    r = anon.get(site + "/")
    assert r.status_code == 404 and "Web Listing Disabled" in r.text and "missing.html" in r.text
    set_web(http, index="missing.html", error="error.html")
    r = anon.get(site + "/")
    assert r.status_code == 404 and r.content == b"custom not found"
    r = anon.get(site + "/no/such/object")
    assert r.status_code == 404 and r.content == b"custom not found"
    # listings need .rlistings: without it the container answers the site's 401 page
    assert http.post("web", headers={"X-Container-Read": ".r:*"}).status_code == 204
    try:
        r = anon.get(site + "/")
        assert r.status_code == 401 and r.content == b"who?"
        assert anon.get(site + "/style.css").content == b"h1 {}"
    finally:
        assert http.post("web", headers={"X-Container-Read": ".r:*,.rlistings"}).status_code == 204


def test_custom_directory_type(http, anon, site):
    assert http.put("web/typed", content=b"", headers={"Content-Type": "text/directory"}).status_code == 201
    set_web(http, listings="true", directory_type="text/directory")
    assert anon.get(site + "/typed").status_code == 404  # a marker without children: not found
    set_web(http, listings="true")
    assert anon.get(site + "/typed").status_code == 200  # not a marker of the default type


def test_private_container_is_not_a_site(http, anon, account):
    assert http.put("private-web", headers={"X-Container-Meta-Web-Index": "index.html"}).status_code in (201, 202)
    assert http.put("private-web/index.html", content=b"secret").status_code == 201
    path = urlsplit(account[0]).path
    assert anon.get(f"{path}/private-web/").status_code == 401
    assert anon.get(f"{path}/private-web/index.html").status_code == 401


BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
           "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_names_and_labels_cannot_inject_html(http, anon, account):
    """Object names, directory names, the listing label and the index name are HTML-escaped in pages."""
    cont = "xss-web"
    assert http.put(cont, headers={"X-Container-Read": ".r:*,.rlistings", "X-Container-Meta-Web-Listings": "true",
                                   "X-Container-Meta-Web-Listings-Label": "<i>site</i>"}).status_code in (201, 202)
    names = ["<script>alert(1)", '"><img src=x onerror=alert(2)>', "<b>dir/inner&amp;.txt"]
    for name in names:
        assert http.put(f"{cont}/{quote(name)}", content=b"x").status_code == 201
    site = urlsplit(account[0]).path + "/" + cont
    page = anon.get(site + "/", headers=BROWSER)
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=UTF-8"
    for raw in ("<script>", "<img", "<b>", "<i>site"):
        assert raw not in page.text
    assert "&lt;script&gt;alert(1)</a>" in page.text
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in page.text
    assert "&lt;b&gt;dir/</a>" in page.text and "&lt;i&gt;site&lt;/i&gt;" in page.text
    inner = anon.get(site + "/" + quote("<b>dir/"), headers=BROWSER)
    assert inner.status_code == 200 and "inner&amp;amp;.txt" in inner.text and "<b>" not in inner.text
    # the object itself is served as stored (its name is a path, never markup)
    assert anon.get(site + "/" + quote(names[0]), headers=BROWSER).content == b"x"

    # listings off: the "index not found" page names the index, escaped
    assert http.post(cont, headers={"X-Container-Meta-Web-Listings": "false",
                                    "X-Container-Meta-Web-Index": "<script>idx</script>"}).status_code == 204
    page = anon.get(site + "/", headers=BROWSER)
    assert page.status_code == 404 and "Web Listing Disabled" in page.text
    assert "<script>" not in page.text and "&lt;script&gt;idx&lt;/script&gt;" in page.text
