from __future__ import annotations

from datetime import date

from fortify.modalities.document.mrz import TD1, TD2, TD3, check_digit, decode
from fortify.modalities.document.names import names_match, transliterate

TD3_LINES = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
]
TODAY = date(2026, 1, 1)


def test_check_digits_of_the_icao_specimen() -> None:
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("ZE184226B<<<<<") == "1"


def test_td3_fields_and_checks() -> None:
    r = decode(TD3, text=TD3_LINES, today=TODAY)
    assert r.valid and not r.corrections
    f = r.fields
    assert (f["surname"], f["given_names"], f["document_number"]) == (
        "ERIKSSON",
        "ANNA MARIA",
        "L898902C3",
    )
    assert (f["birth_date"], f["expiry_date"], f["sex"]) == ("1974-08-12", "2012-04-15", "F")
    assert {c.name for c in r.checks} == {
        "document_number",
        "birth_date",
        "expiry_date",
        "optional_data",
        "composite",
    }
    assert "expired" in r.flags


def test_confusables_are_corrected_and_reported() -> None:
    bad = [TD3_LINES[0], "L8989O2C36UTO74O8122F12O4159ZEI84226B<<<<<1O"]
    r = decode(TD3, text=bad, today=TODAY)
    assert r.valid
    assert r.lines == TD3_LINES
    assert {(c.read, c.corrected) for c in r.corrections} == {("O", "0"), ("I", "1")}


def test_a_wrong_digit_fails_its_check_and_is_flagged() -> None:
    bad = [TD3_LINES[0], "L898902C36UTO7408132F1204159ZE184226B<<<<<10"]
    r = decode(TD3, text=bad, today=TODAY)
    assert not r.valid
    assert "check_digit_failed:birth_date" in r.flags


def test_td1_and_td2() -> None:
    r = decode(
        TD1,
        text=[
            "I<UTOD231458907<<<<<<<<<<<<<<<",
            "7408122F1204159UTO<<<<<<<<<<<6",
            "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
        ],
        today=TODAY,
    )
    assert r.valid and r.fields["document_number"] == "D23145890"
    r2 = decode(
        TD2,
        text=["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"],
        today=TODAY,
    )
    assert r2.valid and r2.fields["nationality"] == "UTO"


def test_names_normalised() -> None:
    assert transliterate("Müller-Lüdenscheidt") == "MUELLER LUEDENSCHEIDT"
    assert names_match("MUELLER", "JOSE", "José Müller")
    assert names_match("ERIKSSON", "ANNA MARIA", "Maria Anna Eriksson")
    assert names_match("BASANAVICIENE", "BIRU", "Birutė Basanavičienė", truncated=True)
    assert not names_match("ERIKSSON", "ANNA", "Anna Andersson")
