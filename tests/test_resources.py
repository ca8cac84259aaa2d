"""The resource library: links, notes, uploads checked by name and content, safe storage and download,
search, permissions of every endpoint and role, statement counts."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from network_service.accounts.models import Person
from network_service.db import db, session
from network_service.errors import InvalidInput
from network_service.networks.operations import get_network
from network_service.resources import operations, storage
from network_service.resources.models import Resource, ResourceKind, ResourceTag
from tests.goals_roles import API, ROLES, act_as, bearer, build_cast, count_statements

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


@pytest.fixture
def uploads(app, tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(directory))
    return directory


@pytest.fixture
def cast(run, world):
    return run(build_cast, world)


def files_in(directory: Path) -> list[Path]:
    return sorted(directory.iterdir()) if directory.exists() else []


def count(run, model=Resource) -> int:
    return run(lambda: session.scalar(sa.select(sa.func.count(model.id))))


def office_docx(folder: str = "word/") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}document.xml", "<document/>")
    return buffer.getvalue()


def odt() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


def upload(client, world, token, content: bytes, filename: str, **fields):
    data = {"csrf_token": token, "file": (io.BytesIO(content), filename), **fields}
    return client.post(
        f"/networks/{world.slug}/resources/new/file", data=data, content_type="multipart/form-data"
    )


def add(run, world, cast, kind="link", by="novice", **fields):
    def create():
        network = get_network(world.slug)
        actor = session.get(Person, cast.ids[by])
        if kind == "link":
            return operations.add_link(network, actor=actor, title=fields.get("title", "UNHCR help"),
                                       url=fields.get("url", "https://help.unhcr.org/"),
                                       language=fields.get("language", ""), tags=fields.get("tags"),
                                       description=fields.get("description", "")).id  # fmt: skip
        if kind == "note":
            return operations.add_note(network, actor=actor, title=fields.get("title", "How we welcome"),
                                       body=fields.get("body", "Say *hello*."), language=fields.get("language", ""),
                                       tags=fields.get("tags")).id  # fmt: skip
        return operations.add_file(network, actor=actor, stream=io.BytesIO(fields.get("content", PDF)),
                                   filename=fields.get("filename", "guide.pdf"), title=fields.get("title", ""),
                                   tags=fields.get("tags")).id  # fmt: skip

    return run(create)


# -- links and notes ----------------------------------------------------------------------------------------


def test_member_adds_a_link_with_tags_and_language(client, run, world, cast, uploads):
    token = act_as(client, cast, "novice")
    response = client.post(
        f"/networks/{world.slug}/resources/new/link",
        data={"csrf_token": token, "title": "Asylum help", "url": "https://help.unhcr.org/germany/",
              "description": "Official **guide**", "language": "German", "tags": "Asylum, housing , asylum"},
    )  # fmt: skip
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'href="https://help.unhcr.org/germany/"' in page
    assert "<strong>guide</strong>" in page
    assert "#asylum" in page and "#housing" in page
    assert "Language: German" in page
    assert run(lambda: sorted(session.scalars(sa.select(ResourceTag.tag)))) == ["asylum", "housing"]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://example.org/x",
        "data:text/html,hi",
        "https://",
        "example.org",
        "http://a b",
    ],
)
def test_link_must_be_http_or_https(client, run, world, cast, uploads, url):
    token = act_as(client, cast, "novice")
    response = client.post(
        f"/networks/{world.slug}/resources/new/link", data={"csrf_token": token, "title": "Bad", "url": url}
    )
    assert response.status_code == 422
    assert 'id="url-error"' in response.get_data(as_text=True)
    assert count(run) == 0


def test_note_with_script_is_shown_sanitised(client, run, world, cast, uploads):
    resource_id = add(
        run, world, cast, "note", body="`<script>alert(1)</script>`\n\n[x](javascript:alert(2)) **ok**"
    )
    act_as(client, cast, "office")
    page = client.get(f"/networks/{world.slug}/resources/{resource_id}").get_data(as_text=True)
    assert "<script>alert" not in page and 'href="javascript' not in page
    assert "&lt;script&gt;" in page and "<strong>ok</strong>" in page
    library = client.get(f"/networks/{world.slug}/resources").get_data(as_text=True)
    assert "<script>alert" not in library


def test_oversized_note_is_422(client, run, world, cast, uploads):
    token = act_as(client, cast, "novice")
    response = client.post(
        f"/networks/{world.slug}/resources/new/note",
        data={"csrf_token": token, "title": "Long", "body": "x" * 20_001},
    )
    assert response.status_code == 422
    assert count(run) == 0


def test_other_routes_keep_the_small_body_limit(client, run, world, cast, uploads):
    token = act_as(client, cast, "novice")
    response = client.post(
        f"/networks/{world.slug}/resources/new/note",
        data={"csrf_token": token, "title": "Huge", "body": "x" * (3 * 1024 * 1024)},
    )
    assert response.status_code == 413


# -- uploads ------------------------------------------------------------------------------------------------


def test_member_uploads_a_pdf_stored_under_a_random_name(client, run, world, cast, uploads):
    token = act_as(client, cast, "novice")
    response = upload(client, world, token, PDF, "Leitfaden Wohnungssuche.pdf", tags="housing", language="de")
    assert response.status_code == 303, response.get_data(as_text=True)
    resource = run(lambda: session.scalar(sa.select(Resource)))
    assert resource.kind == ResourceKind.file and resource.title == "Leitfaden Wohnungssuche.pdf"
    assert resource.content_type == "application/pdf" and resource.size == len(PDF)
    assert re.fullmatch(r"[0-9a-f]{32}", resource.stored_name)
    assert files_in(uploads) == [uploads / resource.stored_name]
    assert (uploads / resource.stored_name).read_bytes() == PDF
    import hashlib

    assert resource.sha256 == hashlib.sha256(PDF).hexdigest()
    page = client.get(f"/networks/{world.slug}/resources/{resource.id}").get_data(as_text=True)
    assert f"/networks/{world.slug}/resources/{resource.id}/download" in page


def test_download_is_an_attachment_nobody_renders(client, run, world, cast, uploads):
    resource_id = add(
        run, world, cast, "file", content=b"<html><script>alert(1)</script>", filename="evil.txt"
    )
    act_as(client, cast, "experienced")
    response = client.get(f"/networks/{world.slug}/resources/{resource_id}/download")
    assert response.status_code == 200
    assert response.data == b"<html><script>alert(1)</script>"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "evil.txt" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert "no-store" in response.headers["Cache-Control"]


def test_a_file_larger_than_two_mib_is_accepted_on_the_upload_route(client, run, world, cast, uploads):
    token = act_as(client, cast, "novice")
    big = PDF + b"0" * (3 * 1024 * 1024)
    assert upload(client, world, token, big, "big.pdf").status_code == 303
    assert count(run) == 1 and len(files_in(uploads)) == 1


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (EXE, "setup.pdf"),  # an executable renamed .pdf
        (EXE, "setup.exe"),
        (PDF, "guide.html"),  # the content is fine, the type is not allowed
        (PNG, "photo.jpg"),  # wrong magic for the name
        (b"just text", "notes.pdf"),
        (b"\xff\xfe\x00t\x00e\x00x\x00t", "utf16.txt"),  # not UTF-8
        (b"caf\xe9 au lait", "latin1.csv"),
        (b"PK\x03\x04" + b"\x00" * 40, "broken.docx"),  # zip magic but no archive
        (office_docx("xl/"), "sheet.docx"),  # a spreadsheet called a document
        (odt(), "slides.odp"),
        (b"", "empty.pdf"),
        (PDF, ".pdf"),  # nothing but an extension: a hidden file name
    ],
)
def test_refused_file_leaves_nothing_behind(client, run, world, cast, uploads, content, filename):
    token = act_as(client, cast, "novice")
    response = upload(client, world, token, content, filename)
    assert response.status_code == 422, response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    assert 'id="file-error"' in page
    assert files_in(uploads) == []
    assert count(run) == 0


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        (PNG, "photo.PNG", "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 16, "photo.jpeg", "image/jpeg"),
        (b"GIF89a" + b"\x00" * 16, "anim.gif", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 8, "pic.webp", "image/webp"),
        ("Grüße, مرحبا".encode(), "hello.txt", "text/plain; charset=utf-8"),
        (b"# Title\n", "readme.md", "text/markdown; charset=utf-8"),
        (b"a,b\n1,2\n", "table.csv", "text/csv; charset=utf-8"),
        (
            office_docx(),
            "letter.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            office_docx("xl/"),
            "sheet.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            office_docx("ppt/"),
            "talk.pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        (odt(), "letter.odt", "application/vnd.oasis.opendocument.text"),
    ],
)
def test_allowed_types_are_accepted(client, run, world, cast, uploads, content, filename, content_type):
    token = act_as(client, cast, "novice")
    assert upload(client, world, token, content, filename).status_code == 303
    assert run(lambda: session.scalar(sa.select(Resource.content_type))) == content_type


def test_too_big_file_is_refused_with_a_clear_message(app, client, run, world, cast, uploads, monkeypatch):
    monkeypatch.setitem(app.config, "RESOURCE_MAX_BYTES", 1000)
    token = act_as(client, cast, "novice")
    # over the file limit, under the request limit: checked while stored
    response = upload(client, world, token, PDF + b"0" * 2000, "big.pdf")
    assert response.status_code == 422
    assert "The file is too large: at most 1,000 B can be uploaded." in response.get_data(as_text=True)
    assert files_in(uploads) == [] and count(run) == 0
    # over the request limit: refused before the body is read
    response = upload(client, world, token, PDF + b"0" * (400 * 1024), "huge.pdf")
    assert response.status_code == 413
    assert "The file is too large: at most 1,000 B can be uploaded." in response.get_data(as_text=True)
    assert files_in(uploads) == [] and count(run) == 0


@pytest.mark.parametrize(
    ("filename", "shown"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\win.pdf", None),  # the multipart parser may drop the backslashes: any safe name
        ("/absolute/path/x.pdf", "x.pdf"),
    ],
)
def test_path_traversal_file_names_stay_in_the_upload_dir(client, run, world, cast, uploads, filename, shown):
    token = act_as(client, cast, "novice")
    response = upload(client, world, token, PDF, filename)
    assert response.status_code == 303, response.get_data(as_text=True)
    resource = run(lambda: session.scalar(sa.select(Resource)))
    if shown is None:
        assert resource.original_filename.endswith("win.pdf")
        shown = resource.original_filename
    assert resource.original_filename == shown
    assert "/" not in shown and "\\" not in shown and not shown.startswith(".")
    assert [p.parent for p in files_in(uploads)] == [uploads]
    assert files_in(uploads)[0].name == resource.stored_name
    download = client.get(f"/networks/{world.slug}/resources/{resource.id}/download")
    assert shown in download.headers["Content-Disposition"]
    assert "/" not in download.headers["Content-Disposition"].split("filename", 1)[1]


@pytest.mark.parametrize(
    ("filename", "cleaned"),
    [
        ("a\x00b\r\n.pdf", "ab.pdf"),
        ('quote"name<>.pdf', "quotename.pdf"),
        ("C:\\Users\\me\\cv.pdf", "cv.pdf"),
        ("../../../.bashrc", "bashrc"),
        ("..", ""),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
        ("Über café.pdf", "Über café.pdf"),
    ],
)
def test_file_names_are_cleaned(filename, cleaned):
    assert storage.clean_filename(filename) == cleaned


def test_file_written_in_a_transaction_that_rolls_back_is_removed(app, run, world, cast, uploads):
    with app.test_request_context():
        network = get_network(world.slug)
        actor = session.get(Person, cast.ids["novice"])
        resource = operations.add_file(network, actor=actor, stream=io.BytesIO(PDF), filename="a.pdf")
        path = uploads / resource.stored_name
        assert path.exists()
        db.session.rollback()
        assert not path.exists()
    with app.test_request_context():  # a request that ends without committing (an error response, a crash)
        network = get_network(world.slug)
        actor = session.get(Person, cast.ids["novice"])
        resource = operations.add_file(network, actor=actor, stream=io.BytesIO(PDF), filename="b.pdf")
        path = uploads / resource.stored_name
        assert path.exists()
    assert not path.exists()
    assert files_in(uploads) == [] and count(run) == 0


def test_a_released_savepoint_is_not_a_commit(app, run, world, cast, uploads):
    resource_id = add(run, world, cast, "file")
    [kept] = files_in(uploads)
    with app.test_request_context():
        network = get_network(world.slug)
        actor = session.get(Person, cast.ids["novice"])
        with db.session.begin_nested():
            resource = operations.add_file(network, actor=actor, stream=io.BytesIO(PDF), filename="n.pdf")
            operations.delete_resource(session.get(Resource, resource_id), actor=actor)
        written = uploads / resource.stored_name
        assert written.exists() and kept.exists()  # the savepoint is released, nothing is committed yet
        db.session.rollback()
    assert not written.exists() and kept.exists()


def test_a_failing_flush_after_the_file_is_written_leaves_no_file(
    app, run, world, cast, uploads, monkeypatch
):
    from network_service.resources import operations as resource_operations

    def broken_record(*_args, **_kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(resource_operations, "record", broken_record)
    with pytest.raises(RuntimeError), app.test_request_context():
        network = get_network(world.slug)
        actor = session.get(Person, cast.ids["novice"])
        resource_operations.add_file(network, actor=actor, stream=io.BytesIO(PDF), filename="c.pdf")
    assert files_in(uploads) == []


def test_committed_file_stays(run, world, cast, uploads):
    add(run, world, cast, "file")
    assert len(files_in(uploads)) == 1


def test_deleting_a_resource_removes_its_file_only_when_committed(app, client, run, world, cast, uploads):
    resource_id = add(run, world, cast, "file")
    [path] = files_in(uploads)
    with app.test_request_context():  # a delete that is rolled back keeps the file
        resource = session.get(Resource, resource_id)
        operations.delete_resource(resource, actor=session.get(Person, cast.ids["novice"]))
        db.session.rollback()
    assert path.exists()
    token = act_as(client, cast, "novice")
    response = client.post(
        f"/networks/{world.slug}/resources/{resource_id}/delete", data={"csrf_token": token}
    )
    assert response.status_code == 303
    assert not path.exists() and count(run) == 0 and count(run, ResourceTag) == 0


def test_deleting_asks_first_and_says_what_goes(client, run, world, cast, uploads):
    """One tap on the resource page does not delete: it opens a page saying what goes, whose button posts."""
    resource_id = add(run, world, cast, "file", filename="welcome-guide.pdf", title="Welcome guide")
    token = act_as(client, cast, "novice")
    url = f"/networks/{world.slug}/resources/{resource_id}"
    page = client.get(url).get_data(as_text=True)
    button = re.search(r'<a class="button button-secondary" href="([^"]+)">([^<]+)</a>', page)
    assert button and button.groups() == (f"{url}/delete", "Delete from the library")
    assert f'action="{url}/delete"' not in page  # no form on the resource page deletes anything
    response = client.get(f"{url}/delete")
    assert response.status_code == 200
    assert count(run) == 1 and len(files_in(uploads)) == 1  # asking deletes nothing
    confirm = response.get_data(as_text=True)
    assert "<h1>Delete “Welcome guide” from the library?</h1>" in confirm
    assert "The file welcome-guide.pdf, its title and its description are deleted for good" in confirm
    assert "This cannot be undone." in confirm and "shared with" not in confirm
    form = re.search(
        rf'<form method="post" action="({re.escape(url)}/delete)"[^>]*>(.*?)</form>', confirm, re.S
    )
    assert form and 'name="csrf_token"' in form.group(2)
    assert '<button type="submit" class="button-danger">Delete for good</button>' in form.group(2)
    assert f'href="{url}">No, keep it</a>' in form.group(2)
    assert "<script" not in confirm.split("</header>")[-1] and " style=" not in confirm  # strict CSP
    response = client.post(f"{url}/delete", data={"csrf_token": token})
    assert response.status_code == 303 and count(run) == 0 and files_in(uploads) == []
    assert client.get(f"{url}/delete").status_code == 404


@pytest.mark.parametrize("kind", ["link", "note"])
def test_the_confirmation_names_the_kind_and_the_federations_that_lose_it(
    client, run, world, cast, uploads, kind
):
    from network_service.federations.models import SharedResource
    from network_service.networks.operations import create_network

    resource_id = add(run, world, cast, kind)

    def share():
        network = get_network(world.slug)
        coordinator = session.get(Person, cast.ids["coordinator"])
        federation = create_network(
            "refugee-federation", "Refugee Federation", network.organisation, actor=coordinator,
            coordinator=coordinator, agreement_body="Be kind.",
        )  # fmt: skip
        session.add(SharedResource(federation_id=federation.id, resource_id=resource_id))
        session.flush()

    act_as(client, cast, "novice")
    url = f"/networks/{world.slug}/resources/{resource_id}/delete"
    page = client.get(url).get_data(as_text=True)
    expected = {
        "link": "The link, its title and its description are deleted for good",
        "note": "The note is deleted for good",
    }[kind]
    assert expected in page and "shared with" not in page
    run(share)
    page = client.get(url).get_data(as_text=True)
    assert "It is also shared with 1 federation, whose member networks lose it too:" in page
    assert "<li>Refugee Federation</li>" in page


def test_missing_file_on_disk_is_404_with_a_message(client, run, world, cast, uploads):
    resource_id = add(run, world, cast, "file")
    for path in files_in(uploads):
        path.unlink()
    act_as(client, cast, "novice")
    response = client.get(f"/networks/{world.slug}/resources/{resource_id}/download")
    assert response.status_code == 404
    assert "missing" in response.get_data(as_text=True)


def test_links_and_notes_have_no_download(client, run, world, cast, uploads):
    resource_id = add(run, world, cast, "link")
    act_as(client, cast, "novice")
    assert client.get(f"/networks/{world.slug}/resources/{resource_id}/download").status_code == 404


def test_storage_refuses_names_that_are_not_its_own():
    with pytest.raises(ValueError):
        storage.path_of("../etc/passwd")


def test_default_upload_dir_is_in_the_instance_folder(app, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", None)
    with app.app_context():
        assert storage.upload_dir() == Path(app.instance_path) / "uploads"


# -- search -------------------------------------------------------------------------------------------------


def test_search_by_text_kind_language_and_tag(client, run, world, cast, uploads):
    add(run, world, cast, "link", title="Housing in Berlin", language="German", tags=["housing"])
    add(
        run,
        world,
        cast,
        "note",
        title="First meeting",
        body="Bring tea and a 100% smile",
        language="English",
        tags=["welcome"],
    )
    add(
        run,
        world,
        cast,
        "link",
        title="Job centre",
        description="Where to register",
        language="Arabic",
        tags=["work", "housing"],
    )
    add(run, world, cast, "file", title="Forms_2026", tags=["forms"])
    act_as(client, cast, "novice")
    base = f"/networks/{world.slug}/resources"

    def titles(query: str) -> list[str]:
        page = client.get(f"{base}?{query}").get_data(as_text=True)
        return re.findall(r'<h3><a href="[^"]+">([^<]+)</a></h3>', page)

    assert titles("") == ["Forms_2026", "Job centre", "First meeting", "Housing in Berlin"]
    assert titles("q=HOUSING") == ["Job centre", "Housing in Berlin"]  # title or tag, any case
    assert titles("q=register") == ["Job centre"]  # in the description
    assert titles("q=100%25") == ["First meeting"]  # % is matched literally
    assert titles("q=%25") == ["First meeting"]
    assert titles("q=s_2") == ["Forms_2026"]  # _ too
    assert titles("q=m_2") == []
    assert titles("kind=note") == ["First meeting"]
    assert titles("language=arabic") == ["Job centre"]
    assert titles("tag=housing") == ["Job centre", "Housing in Berlin"]
    assert titles("tag=housing&language=German") == ["Housing in Berlin"]
    assert titles("q=nothing-like-this") == []
    page = client.get(f"{base}?q=nothing-like-this").get_data(as_text=True)
    assert "Nothing matches your search." in page
    filters = client.get(base).get_data(as_text=True)
    assert (
        '<option value="Arabic">Arabic</option>' in filters
        and '<option value="housing">housing</option>' in filters
    )


def test_library_pages_with_a_cursor(client, run, world, cast, uploads):
    def many():
        network = get_network(world.slug)
        for i in range(operations.PAGE_SIZE + 5):
            session.add(Resource(network=network, kind=ResourceKind.note, title=f"Note {i:02d}", body="b",
                                 created_by_id=cast.ids["novice"]))  # fmt: skip
        session.flush()

    run(many)
    act_as(client, cast, "novice")
    first = client.get(f"/networks/{world.slug}/resources?kind=note").get_data(as_text=True)
    assert first.count('class="card resource"') == operations.PAGE_SIZE
    more = re.search(r'href="([^"]+before=\d+[^"]*)">More resources', first).group(1).replace("&amp;", "&")
    assert "kind=note" in more
    second = client.get(more).get_data(as_text=True)
    assert second.count('class="card resource"') == 5 and "More resources" not in second


def test_library_runs_a_fixed_number_of_statements(app, client, run, world, cast, uploads):
    def fill(count, start):
        network = get_network(world.slug)
        authors = [cast.ids[label] for label in ("novice", "experienced", "office", "coordinator")]
        for i in range(start, start + count):
            session.add(
                Resource(
                    network=network,
                    kind=ResourceKind.link,
                    title=f"Link {i}",
                    url="https://example.org",
                    language=["German", "Arabic", "Farsi"][i % 3],
                    created_by_id=authors[i % 4],
                    tag_rows=[ResourceTag(tag=f"t{i % 5}"), ResourceTag(tag="all")],
                )  # fmt: skip
            )
        session.flush()

    act_as(client, cast, "novice")
    run(fill, 4, 0)
    client.get(f"/networks/{world.slug}/resources")
    with count_statements(app) as small:
        assert client.get(f"/networks/{world.slug}/resources?q=link&tag=all").status_code == 200
    run(fill, 16, 4)
    with count_statements(app) as large:
        page = client.get(f"/networks/{world.slug}/resources?q=link&tag=all").get_data(as_text=True)
    assert page.count('class="card resource"') == 20
    assert len(small) == len(large), (small, large)


# -- editing ------------------------------------------------------------------------------------------------


def test_author_edits_title_tags_and_url(client, run, world, cast, uploads):
    resource_id = add(run, world, cast, "link", tags=["old", "keep"])
    token = act_as(client, cast, "novice")
    url = f"/networks/{world.slug}/resources/{resource_id}/edit"
    form = client.get(url).get_data(as_text=True)
    assert 'value="old, keep"' in form or 'value="keep, old"' in form
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "title": "New title",
            "url": "https://www.proasyl.de/",
            "body": "",
            "language": "de",
            "tags": "keep, new",
        },
    )
    assert response.status_code == 303
    resource = run(lambda: session.get(Resource, resource_id))
    assert (resource.title, resource.url, resource.language) == ("New title", "https://www.proasyl.de/", "de")
    assert run(lambda: sorted(session.scalars(sa.select(ResourceTag.tag)))) == ["keep", "new"]
    bad = client.post(
        url,
        data={
            "csrf_token": token,
            "title": "T",
            "url": "javascript:x",
            "body": "",
            "language": "",
            "tags": "",
        },
    )
    assert bad.status_code == 422


# -- permissions of every page ------------------------------------------------------------------------------

VIEW = {"novice", "experienced", "office", "meta_mentor", "coordinator", "admin"}
CHANGE = {"office", "meta_mentor", "coordinator", "admin"}  # and the author


@pytest.mark.parametrize("label", ROLES)
def test_page_permissions_for_every_role(client, run, world, cast, uploads, label):
    own = add(run, world, cast, "file", by="experienced")  # the experienced mentor is the author
    other = add(run, world, cast, "note", by="office")
    token = act_as(client, cast, label) or ""
    base = f"/networks/{world.slug}/resources"

    def expect(response, allowed: bool, ok: int):
        if label == "anonymous" and response.request.method == "GET":
            assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
        elif label == "anonymous":
            assert response.status_code in (302, 400)  # no CSRF token without a session, or sign in first
        else:
            assert response.status_code == (ok if allowed else 403), (label, response.request.path)

    expect(client.get(base), label in VIEW, 200)
    expect(client.get(f"{base}/{own}"), label in VIEW, 200)
    expect(client.get(f"{base}/{own}/download"), label in VIEW, 200)
    for kind in ("link", "file", "note"):
        expect(client.get(f"{base}/new/{kind}"), label in VIEW, 200)
    expect(
        client.post(
            f"{base}/new/link", data={"csrf_token": token, "title": "T", "url": "https://example.org"}
        ),
        label in VIEW,
        303,
    )
    expect(
        client.post(f"{base}/new/note", data={"csrf_token": token, "title": "T", "body": "B"}),
        label in VIEW,
        303,
    )
    expect(upload(client, world, token, PDF, "x.pdf"), label in VIEW, 303)
    may_change_own = label in CHANGE or label == "experienced"
    expect(client.get(f"{base}/{own}/edit"), may_change_own, 200)
    expect(client.get(f"{base}/{other}/edit"), label in CHANGE, 200)
    expect(
        client.post(
            f"{base}/{other}/edit",
            data={"csrf_token": token, "title": "Changed", "body": "B", "language": "", "tags": ""},
        ),
        label in CHANGE,
        303,
    )
    expect(client.get(f"{base}/{other}/delete"), label in CHANGE, 200)  # the confirmation step
    expect(client.get(f"{base}/{own}/delete"), may_change_own, 200)
    expect(client.post(f"{base}/{other}/delete", data={"csrf_token": token}), label in CHANGE, 303)
    expect(client.post(f"{base}/{own}/delete", data={"csrf_token": token}), may_change_own, 303)
    remaining = run(lambda: set(session.scalars(sa.select(Resource.id).where(Resource.id.in_([own, other])))))
    assert remaining == ({own} if not may_change_own else set()) | ({other} if label not in CHANGE else set())


def test_upload_without_csrf_token_is_refused(client, run, world, cast, uploads):
    act_as(client, cast, "novice")
    response = upload(client, world, "not-the-token", PDF, "x.pdf")
    assert response.status_code == 422
    assert "This form has expired." in response.get_data(as_text=True)
    assert files_in(uploads) == [] and count(run) == 0


# -- API ----------------------------------------------------------------------------------------------------


def test_api_library_lifecycle(client, run, world, cast, uploads):
    headers = bearer(cast, "novice")
    base = f"{API}/networks/{world.slug}/resources"
    link = client.post(
        base,
        json={
            "kind": "link",
            "title": "Pro Asyl",
            "url": "https://www.proasyl.de/",
            "tags": ["Asylum"],
            "language": "German",
        },
        headers=headers,
    )
    assert link.status_code == 201, link.get_data(as_text=True)
    assert link.get_json()["tags"] == ["asylum"]
    note = client.post(base, json={"kind": "note", "title": "Tips", "body": "Be *patient*"}, headers=headers)
    assert note.status_code == 201
    uploaded = client.post(
        f"{base}/upload",
        data={"file": (io.BytesIO(PDF), "guide.pdf"), "title": "Guide", "tags": "forms, housing"},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert uploaded.status_code == 201, uploaded.get_data(as_text=True)
    file_resource = uploaded.get_json()
    assert file_resource["content_type"] == "application/pdf" and file_resource["size"] == len(PDF)
    assert file_resource["tags"] == ["forms", "housing"]
    listing = client.get(f"{base}?tag=housing", headers=bearer(cast, "experienced")).get_json()
    assert [r["title"] for r in listing["items"]] == ["Guide"]
    assert [r["title"] for r in client.get(f"{base}?q=PRO", headers=headers).get_json()["items"]] == [
        "Pro Asyl"
    ]
    assert [r["title"] for r in client.get(f"{base}?kind=note", headers=headers).get_json()["items"]] == [
        "Tips"
    ]
    download = client.get(f"{base}/{file_resource['id']}/download", headers=headers)
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    patched = client.patch(f"{base}/{link.get_json()['id']}", json={"title": "PRO ASYL"}, headers=headers)
    assert patched.status_code == 200 and patched.get_json()["title"] == "PRO ASYL"
    assert client.get(f"{base}/{note.get_json()['id']}", headers=headers).get_json()["body"] == "Be *patient*"
    assert client.delete(f"{base}/{file_resource['id']}", headers=headers).status_code == 204
    assert files_in(uploads) == []


def test_api_rejects_bad_input_and_bad_files(client, run, world, cast, uploads):
    headers = bearer(cast, "novice")
    base = f"{API}/networks/{world.slug}/resources"
    for body, field in (
        ({"kind": "link", "title": "x", "url": "javascript:alert(1)"}, "url"),
        ({"kind": "file", "title": "x"}, "kind"),
        ({"kind": "note", "title": "x", "body": ""}, "body"),
        ({"kind": "note", "title": "x", "body": "y", "tags": ["a" * 41]}, "tags"),
        ({"kind": "note", "title": "x", "body": "y", "surprise": 1}, "surprise"),
    ):
        response = client.post(base, json=body, headers=headers)
        assert response.status_code == 422, body
        assert field in response.get_json()["errors"], response.get_json()
    response = client.post(f"{base}/upload", json={"file": "x"}, headers=headers)
    assert response.status_code == 415
    response = client.post(
        f"{base}/upload",
        data={"file": (io.BytesIO(EXE), "setup.pdf")},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert response.status_code == 422 and "file" in response.get_json()["errors"]
    response = client.post(
        f"{base}/upload", data={"title": "no file"}, content_type="multipart/form-data", headers=headers
    )
    assert response.status_code == 422
    assert files_in(uploads) == [] and count(run) == 0


def test_api_upload_over_the_request_limit_is_413(app, client, run, world, cast, uploads, monkeypatch):
    monkeypatch.setitem(app.config, "RESOURCE_MAX_BYTES", 1000)
    response = client.post(
        f"{API}/networks/{world.slug}/resources/upload",
        data={"file": (io.BytesIO(PDF + b"0" * (400 * 1024)), "huge.pdf")},
        content_type="multipart/form-data",
        headers=bearer(cast, "novice"),
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert files_in(uploads) == [] and count(run) == 0


@pytest.mark.parametrize(
    ("fields", "filename"),
    [({"title": "Guide\x00"}, "guide.pdf"), ({"tags": "housing\x00"}, "guide.pdf"), ({}, "guide\x00.pdf")],
    ids=["title", "tags", "file name"],
)
def test_a_nul_character_in_an_upload_form_is_refused(client, run, world, cast, uploads, fields, filename):
    """A multipart form is parsed by its view (under the upload's size limit), after the NUL check at the door:
    its fields and file names are checked when parsed (security.MentorNetRequest). PostgreSQL keeps no NUL in
    text; the page and the API answer 400 and keep nothing."""
    token = act_as(client, cast, "novice")
    response = upload(client, world, token, PDF, filename, **fields)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert "NUL character" in response.get_data(as_text=True)
    response = client.post(
        f"{API}/networks/{world.slug}/resources/upload",
        data={"file": (io.BytesIO(PDF), filename), **fields},
        content_type="multipart/form-data",
        headers=bearer(cast, "novice"),
    )
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert "NUL character" in response.get_json()["detail"]
    assert files_in(uploads) == [] and count(run) == 0


@pytest.mark.parametrize("label", ROLES)
def test_api_permissions_for_every_role(client, run, world, cast, uploads, label):
    own = add(run, world, cast, "file", by="experienced")
    other = add(run, world, cast, "note", by="office")
    headers = bearer(cast, label)
    base = f"{API}/networks/{world.slug}/resources"

    def expect(response, allowed: bool, ok: int):
        if label == "anonymous":
            assert response.status_code == 401
        else:
            assert response.status_code == (ok if allowed else 403), (label, response.get_data(as_text=True))

    expect(client.get(base, headers=headers), label in VIEW, 200)
    expect(client.get(f"{base}/{own}", headers=headers), label in VIEW, 200)
    expect(client.get(f"{base}/{own}/download", headers=headers), label in VIEW, 200)
    expect(
        client.post(base, json={"kind": "note", "title": "T", "body": "B"}, headers=headers),
        label in VIEW,
        201,
    )
    expect(
        client.post(
            f"{base}/upload",
            data={"file": (io.BytesIO(PDF), "x.pdf")},
            content_type="multipart/form-data",
            headers=headers,
        ),
        label in VIEW,
        201,
    )
    may_change_own = label in CHANGE or label == "experienced"
    expect(client.patch(f"{base}/{other}", json={"title": "Changed"}, headers=headers), label in CHANGE, 200)
    expect(client.patch(f"{base}/{own}", json={"title": "Changed"}, headers=headers), may_change_own, 200)
    expect(client.delete(f"{base}/{other}", headers=headers), label in CHANGE, 204)
    expect(client.delete(f"{base}/{own}", headers=headers), may_change_own, 204)


def test_library_checkpoint_counts_resources(run, world, cast, uploads):
    from network_service.networks.roadmap import _CHECKPOINTS

    checkpoint = _CHECKPOINTS["resources.library"]
    for _i in range(4):
        add(run, world, cast, "link")
    assert run(lambda: checkpoint.reached(get_network(world.slug))) is False
    add(run, world, cast, "note")
    assert run(lambda: checkpoint.reached(get_network(world.slug))) is True


def test_invalid_input_messages_name_the_field(app, run, world, cast, uploads):
    with app.test_request_context():
        with pytest.raises(InvalidInput) as caught:
            operations.parse_tags(["ok"] * 1 + [f"t{i}" for i in range(11)])
        assert caught.value.field == "tags"


def test_api_upload_with_a_session_needs_the_csrf_header_and_takes_large_files(
    client, run, world, cast, uploads
):
    token = act_as(client, cast, "novice")
    url = f"{API}/networks/{world.slug}/resources/upload"
    big = PDF + b"0" * (3 * 1024 * 1024)  # over the application's 2 MiB body limit
    refused = client.post(
        url, data={"file": (io.BytesIO(big), "big.pdf")}, content_type="multipart/form-data"
    )
    assert refused.status_code == 400
    assert files_in(uploads) == [] and count(run) == 0
    accepted = client.post(
        url,
        data={"file": (io.BytesIO(big), "big.pdf")},
        content_type="multipart/form-data",
        headers={"X-CSRFToken": token},
    )
    assert accepted.status_code == 201, accepted.get_data(as_text=True)
    assert accepted.get_json()["size"] == len(big)
    assert len(files_in(uploads)) == 1


def test_demo_seeds_links_a_note_and_files(client, run, world, cast, uploads):
    from network_service.resources.demo import seed_demo

    def seed():
        labels = {"Coordinator": "coordinator", "Meta-Mentor": "meta_mentor", "Network office": "office",
                  "Experienced mentor": "experienced"}  # fmt: skip
        seed_demo(get_network(world.slug), {k: session.get(Person, cast.ids[v]) for k, v in labels.items()})

    run(seed)
    kinds = run(lambda: sorted(k.value for k in session.scalars(sa.select(Resource.kind))))
    assert kinds == ["file", "file", "link", "link", "link", "link", "note"]
    assert len(files_in(uploads)) == 2
    pdf = run(lambda: session.scalar(sa.select(Resource).where(Resource.content_type == "application/pdf")))
    act_as(client, cast, "novice")
    body = client.get(f"/networks/{world.slug}/resources/{pdf.id}/download").data
    assert body.startswith(b"%PDF-1.4") and body.rstrip().endswith(b"%%EOF")
    startxref = int(body.rstrip().split(b"\n")[-2])
    assert body[startxref:].startswith(b"xref")  # the cross-reference table is where the PDF says it is


def test_uploads_per_client_are_rate_limited(database_url):
    from network_service.app import create_app
    from tests.databases import app_config

    limited = create_app(app_config(database_url, RATELIMIT_ENABLED=True))
    client = limited.test_client()
    url = "/networks/test-net/resources/new/file"  # counted before anything else, even signing in
    statuses = [
        client.post(url, data={"title": "x"}, content_type="multipart/form-data").status_code
        for _i in range(62)
    ]
    db.dispose(limited)
    assert statuses[:60] == [302] * 60 and statuses[60:] == [429, 429]
