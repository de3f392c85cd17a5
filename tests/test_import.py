"""CSV import on a real SQLite file: header aliases, bad rows, duplicates, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from logsteer_tui.db.models import Address, ConsentEvent, ConsentSource, Contact, Note
from logsteer_tui.runtime import Runtime
from logsteer_tui.services import importer
from logsteer_tui.services.importer import ImportFileError, RowError, import_contacts

CROATIAN_CSV = (
    "Ime;Prezime;E-mail;Mobitel;Telefon;Grad;Poštanski broj;Adresa;Država;"
    "Napomena;Do not send SMS;Razina\n"
    "Čedomir;Đurđević;Cedo@Example.com;091 000 0001;01 555 0100;Zagreb;10000;"
    "Ilica 1;Hrvatska;Stalni kupac;;gold\n"
    "Ana;Šimić;ana@example.com;00385 98 123 4567;;Split;21000;Riva 2;HR;;da;\n"
)


def write_csv(tmp_path: Path, text: str, name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


async def import_file(runtime: Runtime, path: Path) -> importer.ImportResult:
    return await import_contacts(runtime.sessions, path, "HR")


async def stored(runtime: Runtime, model: type) -> list:
    async with runtime.sessions() as session:
        return list(await session.scalars(select(model).order_by(model.id)))


async def test_bom_semicolons_and_croatian_headers(
    runtime: Runtime, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, "\ufeff" + CROATIAN_CSV)
    result = await import_file(runtime, path)
    assert (result.created, result.updated, result.failed_rows) == (2, 0, 0)
    cedo, ana = await stored(runtime, Contact)
    assert cedo.first_name == "Čedomir"
    assert cedo.last_name == "Đurđević"
    assert cedo.email == "cedo@example.com"
    assert cedo.mobile_1 == "+385910000001"
    assert cedo.phone_1 == "+38515550100"
    assert cedo.source.value == "import"
    assert cedo.attributes == {"Razina": "gold"}
    assert cedo.sort_name == "durdevic cedomir"
    assert ana.mobile_1 == "+385981234567"
    assert ana.do_not_send_sms is True
    assert cedo.do_not_send_sms is False
    addresses = await stored(runtime, Address)
    assert [(a.street, a.postal_code, a.city, a.country) for a in addresses] == [
        ("Ilica 1", "10000", "Zagreb", "HR"),
        ("Riva 2", "21000", "Split", "HR"),
    ]
    assert [note.body for note in await stored(runtime, Note)] == ["Stalni kupac"]


async def test_commas_and_english_headers(runtime: Runtime, tmp_path: Path) -> None:
    text = (
        "First Name,Last_Name,EMAIL,Mobile 1,Phone 2,Company,Zip,City,Customer no\n"
        'Ivo,Ivić,ivo@example.com,"+385 (0)91 000 0002",021 123 456,'
        '"Jadran, d.o.o.",21000,Split,K-1\n'
    )
    result = await import_file(runtime, write_csv(tmp_path, text))
    assert result.created == 1
    (contact,) = await stored(runtime, Contact)
    assert contact.mobile_1 == "+385910000002"
    assert contact.phone_2 == "+38521123456"
    assert contact.company == "Jadran, d.o.o."
    assert contact.attributes == {"Customer no": "K-1"}


async def test_excel_separator_line_and_crlf(runtime: Runtime, tmp_path: Path) -> None:
    text = 'sep=,\r\nName;Surname,Email\r\nAna;Marija,"ana@example.com"\r\n'
    result = await import_file(runtime, write_csv(tmp_path, text))
    assert (result.created, result.failed_rows) == (1, 0)
    (contact,) = await stored(runtime, Contact)
    assert contact.last_name == ""
    assert contact.email == "ana@example.com"
    assert contact.attributes == {"Name;Surname": "Ana;Marija"}


async def test_full_name_column_split(runtime: Runtime, tmp_path: Path) -> None:
    text = "Full Name;Phone\nAna Marija Horvat;01 555 0100\nMadonna;\n"
    result = await import_file(runtime, write_csv(tmp_path, text))
    assert result.created == 2
    ana, madonna = await stored(runtime, Contact)
    assert ana.first_name == "Ana Marija"
    assert ana.last_name == "Horvat"
    assert madonna.first_name == "Madonna"
    assert madonna.last_name == ""


async def test_bad_rows_reported_rest_imported(
    runtime: Runtime, tmp_path: Path
) -> None:
    text = (
        "first name;email;mobile;country\n"
        "Ana;ana@example.com;091 000 0001;HR\n"
        "Ivo;not-an-email;12;HR\n"
        ";;;\n"
        "Petra;petra@example.com;;Narnia\n"
        ";;;HR\n"
        "Marko;marko@example.com;;HR;extra\n"
    )
    result = await import_file(runtime, write_csv(tmp_path, text))
    assert result.created == 1
    assert result.failed_rows == 4
    errors = {(error.row, error.column): error for error in result.errors}
    assert set(errors) == {
        (3, "email"),
        (3, "mobile"),
        (5, "country"),
        (6, ""),
        (7, ""),
    }
    assert errors[3, "email"].value == "not-an-email"
    assert "@" in errors[3, "email"].reason
    assert errors[3, "mobile"].value == "12"
    assert "valid number" in errors[3, "mobile"].reason
    assert errors[5, "country"].value == "Narnia"
    assert "no first name" in errors[6, ""].reason
    assert "5 values" in errors[7, ""].reason
    assert [contact.first_name for contact in await stored(runtime, Contact)] == ["Ana"]


def test_row_error_reads_as_a_sentence() -> None:
    error = RowError(3, "Mobitel", "12", "not a valid number")
    assert str(error) == "row 3, column 'Mobitel': '12' is invalid: not a valid number"


async def test_existing_email_updates_contact(runtime: Runtime, tmp_path: Path) -> None:
    existing = await runtime.contacts.create(
        {"first_name": "Ana", "email": "ana@example.com", "phone_1": "01 555 0100"}
    )
    text = "email;last name;phone;city\nANA@example.com;Horvat;;Zagreb\n"
    result = await import_file(runtime, write_csv(tmp_path, text))
    assert (result.created, result.updated) == (0, 1)
    (contact,) = await stored(runtime, Contact)
    assert contact.id == existing.id
    assert contact.first_name == "Ana"
    assert contact.last_name == "Horvat"
    assert contact.phone_1 == "+38515550100"  # an empty cell keeps the value
    assert contact.sort_name == "horvat ana"
    assert [address.city for address in await stored(runtime, Address)] == ["Zagreb"]


async def test_existing_mobile_updates_contact(
    runtime: Runtime, tmp_path: Path
) -> None:
    existing = await runtime.contacts.create(
        {"first_name": "Ivo", "mobile_1": "+385910000001"}
    )
    text = "gsm,email,note\n091/000-0001,ivo@example.com,Zove popodne\n"
    result = await import_file(runtime, write_csv(tmp_path, text))
    assert (result.created, result.updated) == (0, 1)
    (contact,) = await stored(runtime, Contact)
    assert contact.id == existing.id
    assert contact.email == "ivo@example.com"
    assert [note.body for note in await stored(runtime, Note)] == ["Zove popodne"]


async def test_same_file_twice_duplicates_nothing(
    runtime: Runtime, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, CROATIAN_CSV)
    await import_file(runtime, path)
    again = await import_file(runtime, path)
    assert (again.created, again.updated) == (0, 2)
    assert len(await stored(runtime, Contact)) == 2
    assert len(await stored(runtime, Address)) == 2
    assert len(await stored(runtime, Note)) == 1


async def test_duplicates_within_file_across_batches(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)
    text = (
        "first name;email;mobile 1\n"
        "Ana;ana@example.com;\n"
        "Ana;ana@example.com;091 000 0001\n"
        "Ivo;ivo@example.com;\n"
        "Anica;;091 000 0001\n"
        "Ivo;IVO@example.com;098 000 0002\n"
    )
    result = await import_file(runtime, write_csv(tmp_path, text))
    assert (result.created, result.updated) == (2, 3)
    ana, ivo = await stored(runtime, Contact)
    assert ana.first_name == "Anica"
    assert ana.mobile_1 == "+385910000001"
    assert ivo.mobile_1 == "+385980000002"


async def test_opt_out_recorded_and_never_cleared(
    runtime: Runtime, tmp_path: Path
) -> None:
    opt_out = "email;do not send sms;do not send email\nana@example.com;yes;\n"
    await import_file(runtime, write_csv(tmp_path, opt_out, "first.csv"))
    opt_in = "email;do not send sms;do not send email\nana@example.com;no;no\n"
    await import_file(runtime, write_csv(tmp_path, opt_in, "second.csv"))
    (contact,) = await stored(runtime, Contact)
    assert contact.do_not_send_sms is True
    assert contact.do_not_send_email is False
    (event,) = await stored(runtime, ConsentEvent)
    assert event.channel.value == "sms"
    assert event.action.value == "opt_out"
    assert event.source is ConsentSource.IMPORT
    assert event.reason == "imported from first.csv, row 2"


async def test_no_known_column_names_file(runtime: Runtime, tmp_path: Path) -> None:
    path = write_csv(tmp_path, "Kupac;Iznos\nAna;10\n", "orders.csv")
    with pytest.raises(ImportFileError) as caught:
        await import_file(runtime, path)
    assert "orders.csv" in caught.value.message
    assert "Kupac, Iznos" in caught.value.message
    assert "first name" in caught.value.message


async def test_non_utf8_file_rejected(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "latin2.csv"
    path.write_bytes("ime;prezime\nAna;Šimić\n".encode("iso-8859-2"))
    with pytest.raises(ImportFileError) as caught:
        await import_file(runtime, path)
    assert "latin2.csv is not UTF-8" in caught.value.message
    assert "CSV UTF-8" in caught.value.message


async def test_missing_file_rejected(runtime: Runtime, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError) as caught:
        await import_file(runtime, tmp_path / "missing.csv")
    assert "missing.csv" in caught.value.message
    assert "No such file" in caught.value.message


async def test_empty_file_rejected(runtime: Runtime, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError) as caught:
        await import_file(runtime, write_csv(tmp_path, ""))
    assert "is empty" in caught.value.message


async def test_progress_reports_lines(runtime: Runtime, tmp_path: Path) -> None:
    rows = "".join(f"Ana{index};ana{index}@example.com\n" for index in range(1200))
    path = write_csv(tmp_path, "first name;email\n" + rows)
    seen: list[tuple[int, int]] = []
    result = await import_contacts(
        runtime.sessions, path, "HR", on_progress=lambda *done: seen.append(done)
    )
    assert result.created == 1200
    assert seen[-1] == (1201, 1201)
    assert len(seen) == 3
