"""Files on cases over HTTP: upload by content type, limits, who may read them, the trail — and
hostile files (oversized, wrong type by content, a decompression bomb, another tenant's case,
concurrent uploads to one case), each answered cleanly with nothing half-written."""
from __future__ import annotations

import hashlib
import io
import threading

import pytest
from sqlalchemy import func, select

from onewindow import intake
from onewindow.files import Limits
from onewindow.models import CaseFile, FileChunk
from tests.eligibility_helpers import eligible_resident
from tests.files_helpers import jpeg, ofd, pdf, png, png_bomb
from tests.helpers import Api
from tests.onewindow_helpers import one_window
from workflows.trail import EVENTS
from desks.window import receive_at_window

CARE = "severe_disability_care_subsidy"
FORM = {"care_arrangement": "home", "bank_account": "6222020200112233445"}


@pytest.fixture
def api(app, ctx, monkeypatch):
    monkeypatch.setattr(intake, "audit_draw", lambda *args: False)
    api = Api(app.test_client())
    api.actors = one_window(ctx, residents=600)
    return api


def _case(api, ctx) -> int:
    """An accepted care-subsidy case: its review task waits in the disabled persons' federation."""
    resident = eligible_resident(ctx, api.actors["intake1"], CARE)
    return receive_at_window(ctx, api.actors["intake1"], CARE, resident, FORM, "accept")["case"]["id"]


def _upload(api, case_id, user, content: bytes, name="scan.png", **form):
    return api.post(f"/api/cases/{case_id}/files", user, data={"file": (io.BytesIO(content), name), **form},
                    content_type="multipart/form-data")


def _count(ctx, case_id) -> tuple[int, int]:
    with ctx.unit_of_work() as uow:
        s = uow.session
        files = s.scalar(select(func.count()).select_from(CaseFile).where(CaseFile.case_id == case_id))
        events = s.scalar(select(func.count()).select_from(EVENTS).where(EVENTS.c.case_id == case_id,
                                                                           EVENTS.c.kind == "file.uploaded"))
        return files, events


def test_upload_list_download_with_the_hash_in_the_trail(api, ctx):
    case_id = _case(api, ctx)
    content = png()
    r = _upload(api, case_id, "intake1", content, name="../../身份证 正面.exe", material_code="id_card")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["content_type"] == "image/png" and body["size"] == len(content)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["name"] == "身份证 正面.png"  # no path, the extension of what it is
    assert body["material_code"] == "id_card" and body["uploaded_by"] == "intake1" and body["uploaded_at"]
    for kind, made, name in (("application/pdf", pdf(), "a.pdf"), ("image/jpeg", jpeg(), "b.jpg"),
                             ("application/ofd", ofd(), "c.ofd")):
        r = _upload(api, case_id, "disabled1", made, name=name)  # the department clerk whose task it is
        assert r.status_code == 201 and r.get_json()["content_type"] == kind, r.get_json()
    listed = api.get(f"/api/cases/{case_id}/files", "disabled1").get_json()["items"]
    assert [f["name"] for f in listed] == ["身份证 正面.png", "a.pdf", "b.jpg", "c.ofd"]
    # the content is personal data: the clerk working the case reads it; an auditor lists files and
    # proves them by their hashes in the trail, but does not read the scans
    assert api.get(f"/api/files/{body['id']}", "auditor1").status_code == 403
    assert [f["sha256"] for f in api.get(f"/api/cases/{case_id}/files", "auditor1").get_json()["items"]][0] == body["sha256"]
    got = api.get(f"/api/files/{body['id']}", "disabled1")
    assert got.status_code == 200 and got.data == content
    assert got.headers["Content-Type"] == "image/png"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in got.headers["Content-Security-Policy"]
    trail = api.get(f"/api/cases/{case_id}/trail", "auditor1").get_json()["events"]
    uploads = [e for e in trail if e["kind"] == "file.uploaded"]
    downloads = [e for e in trail if e["kind"] == "file.downloaded"]
    assert uploads[0]["data"]["sha256"] == body["sha256"] and downloads[0]["data"]["sha256"] == body["sha256"]
    assert downloads[0]["actor"] == "disabled1"
    assert api.get(f"/api/cases/{case_id}/trail/verify", "auditor1").get_json()["valid"] is True
    # a material code the service does not list
    assert _upload(api, case_id, "intake1", png(), material_code="passport").status_code == 422


def test_wrong_type_by_content_and_damaged_images_are_415(api, ctx):
    case_id = _case(api, ctx)
    html = b"<html><script>alert(1)</script></html>"
    for content, name in ((html, "scan.pdf"), (b"GIF89a" + b"\x00" * 40, "scan.png"),
                          (b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10, "scan.png"),
                          (b"\xff\xd8\xff\xe0" + b"\x00" * 50, "photo.jpg"),
                          (b"PK\x03\x04" + b"\x00" * 60, "doc.ofd")):
        r = _upload(api, case_id, "intake1", content, name=name)
        assert r.status_code == 415, (name, r.get_json())
        assert set(r.get_json()) >= {"code", "status", "message"}
    import zipfile
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("readme.txt", "hello")
    assert _upload(api, case_id, "intake1", plain_zip.getvalue(), name="x.ofd").status_code == 415
    assert _upload(api, case_id, "intake1", b"", name="empty.pdf").status_code == 422
    assert _count(ctx, case_id) == (0, 0)


def test_a_decompression_bomb_is_refused_without_being_decoded(api, ctx):
    case_id = _case(api, ctx)
    bomb = png_bomb()
    assert len(bomb) < 10_000  # ten billion pixels declared in a few kilobytes
    r = _upload(api, case_id, "intake1", bomb, name="scan.png")
    assert r.status_code == 415 and "decompression bomb" in r.get_json()["message"]
    # above our own limit (40 megapixels) though below Pillow's: refused as well
    r = _upload(api, case_id, "intake1", png_bomb(8000, 6000), name="scan.png")
    assert r.status_code == 415 and "megapixels" in str(r.get_json()["errors"])
    assert _count(ctx, case_id) == (0, 0)


def test_size_limits_per_file_and_per_case(api, ctx, app, monkeypatch):
    monkeypatch.setitem(app.extensions["redwall_files"], "limits", Limits(max_file_bytes=50_000, max_case_bytes=120_000))
    case_id = _case(api, ctx)
    big = pdf() + b"%" + b"x" * 60_000
    r = _upload(api, case_id, "intake1", big, name="big.pdf")
    assert r.status_code == 413 and set(r.get_json()) >= {"code", "status", "message"}
    part = pdf() + b"%" + b"x" * 45_000
    assert _upload(api, case_id, "intake1", part, name="1.pdf").status_code == 201
    assert _upload(api, case_id, "intake1", part, name="2.pdf").status_code == 201
    third = _upload(api, case_id, "intake1", part, name="3.pdf")
    assert third.status_code == 413 and "together" in third.get_json()["message"]
    assert _count(ctx, case_id) == (2, 2)


def test_who_may_see_and_attach_files(api, ctx):
    case_id = _case(api, ctx)
    file_id = _upload(api, case_id, "intake1", png()).get_json()["id"]
    # another tenant's window: the case and its file do not exist
    assert _upload(api, case_id, "intake9", png()).status_code == 404
    assert api.get(f"/api/cases/{case_id}/files", "intake9").status_code == 404
    assert api.get(f"/api/files/{file_id}", "intake9").status_code == 404
    # a clerk of another department, with no task on the case: nothing of it
    assert api.get(f"/api/cases/{case_id}/files", "civil1").status_code == 404
    assert api.get(f"/api/files/{file_id}", "civil1").status_code == 404
    assert _upload(api, case_id, "civil1", png()).status_code == 404
    # designers handle no files; supervisors of the department list them but do not read the scans
    # (personal data in full: for those working the case, the window and administrators)
    assert api.get(f"/api/files/{file_id}", "designer1").status_code == 403
    assert _upload(api, case_id, "designer1", png()).status_code == 403
    assert api.get(f"/api/cases/{case_id}/files", "super1").status_code == 200
    assert api.get(f"/api/files/{file_id}", "super1").status_code == 403
    assert api.get(f"/api/files/{file_id}", "disabled1").status_code == 200
    assert api.client.get(f"/api/files/{file_id}").status_code == 401
    assert api.get("/api/files/999999999", "intake1").status_code == 404
    assert _upload(api, 999999999, "intake1", png()).status_code == 404


def test_concurrent_uploads_to_one_case_never_pass_the_case_limit(api, ctx, app, monkeypatch):
    monkeypatch.setitem(app.extensions["redwall_files"], "limits", Limits(max_file_bytes=100_000, max_case_bytes=250_000))
    case_id = _case(api, ctx)
    token = api.token("intake1")
    content = pdf() + b"%" + b"y" * 60_000  # four fit (240 kB), the fifth does not
    statuses, barrier = [], threading.Barrier(8)

    def one(n):
        client = app.test_client()
        barrier.wait()
        r = client.post(f"/api/cases/{case_id}/files", headers={"Authorization": f"Bearer {token}"},
                        data={"file": (io.BytesIO(content), f"{n}.pdf")}, content_type="multipart/form-data")
        statuses.append(r.status_code)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201] * 4 + [413] * 4, statuses
    assert _count(ctx, case_id) == (4, 4)  # rows and trail events: nothing half-written
    with ctx.unit_of_work() as uow:
        total = uow.session.scalar(select(func.sum(CaseFile.size)).where(CaseFile.case_id == case_id))
        assert total <= 250_000
        stored = {r.id: r.storage for r in uow.session.scalars(select(CaseFile).where(CaseFile.case_id == case_id))}
    for file_id in stored:
        got = api.get(f"/api/files/{file_id}", "intake1")
        assert got.data == content
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert set(stored.values()) == {"database"}
        with ctx.unit_of_work() as uow:  # 60 kB in one chunk each; a large file spans several
            assert uow.session.scalar(select(func.count()).select_from(FileChunk)) == 4
