"""Email through SES: parsing inbound MIME, stripping quoted history, building threaded replies, SES verdicts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.services.email_mime import (
    Attachment,
    MalformedEmail,
    SesVerdicts,
    attachment_bytes,
    build_email,
    make_message_id,
    parse_email,
    references_for_reply,
    reply_subject,
    ses_message_id_header,
    ses_verdicts,
    strip_quoted_text,
)

SES_ID = "0100019d43e5f632-f5862a3e-361c-4b54-a9a6-96c242a8f17a-000000"
SES_MESSAGE_ID = f"<{SES_ID}@email.amazonses.com>"
GMAIL_ID = "<CAJnrk1ZRTGWjNzkMxS3UkeZMmrpadJDtWKontMx2=d-smXYq=w@mail.gmail.com>"  # 69 characters
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(16))
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


def crlf(text: str, encoding: str = "utf-8") -> bytes:
    """A message as it arrives over SMTP: CRLF line endings."""
    return text.encode(encoding).replace(b"\n", b"\r\n")


def simple(headers: str, body: str = "Hola\n", content_type: str = "text/plain; charset=utf-8") -> bytes:
    return crlf(f"{headers}\nMIME-Version: 1.0\nContent-Type: {content_type}\n\n{body}")


GMAIL_REPLY = crlf(f"""\
Delivered-To: soporte@acme.com
X-Original-To: Ventas@Acme.com
Received: by 2002:a05:6a10:1a4d:b0:5c1:2e3f:9a1b with SMTP id x13csp2201;
        Mon, 3 Nov 2026 05:42:31 -0800 (PST)
MIME-Version: 1.0
References: <root-4521@acme.com>
 {SES_MESSAGE_ID}
In-Reply-To: {SES_MESSAGE_ID}
From: =?UTF-8?Q?Mar=C3=ADa_Fern=C3=A1ndez?= <Maria.Fernandez@Gmail.com>
Reply-To: Maria F <maria.f+pedidos@gmail.com>
Date: Mon, 3 Nov 2026 10:42:17 -0300
Message-ID: {GMAIL_ID}
Subject: Re: =?UTF-8?Q?Tu_pedido_n=C2=BA_4521?=
To: Soporte Acme <soporte@acme.com>
Cc: "Perez, Juan" <JPEREZ@empresa.com.ar>, ventas@acme.com
Content-Type: multipart/alternative; boundary="000000000000d3c1a80642b1e0f2"

--000000000000d3c1a80642b1e0f2
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Hola, el pedido todav=C3=ADa no lleg=C3=B3. =C2=BFPueden revisar?

Gracias,
Mar=C3=ADa

El lun, 3 nov 2026 a las 10:00, Soporte <soporte@acme.com>
escribi=C3=B3:

> Hola Mar=C3=ADa, tu pedido 4521 est=C3=A1 en camino.
>
> Saludos,
> Soporte Acme
>

--000000000000d3c1a80642b1e0f2
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">Hola, el pedido todav=C3=ADa no lleg=C3=B3. =C2=BFPueden =
revisar?<div><br></div><div>Gracias,</div><div>Mar=C3=ADa</div></div><br><=
div class=3D"gmail_quote"><div dir=3D"ltr" class=3D"gmail_attr">El lun, 3 =
nov 2026 a las 10:00, Soporte &lt;<a href=3D"mailto:soporte@acme.com">sopo=
rte@acme.com</a>&gt; escribi=C3=B3:<br></div><blockquote class=3D"gmail_qu=
ote" style=3D"margin:0px 0px 0px 0.8ex">Hola Mar=C3=ADa, tu pedido 4521 es=
t=C3=A1 en camino.<br><br>Saludos,<br>Soporte Acme</blockquote></div>

--000000000000d3c1a80642b1e0f2--
""")

OUTLOOK_REPLY = crlf(f"""\
From: =?iso-8859-1?Q?Juan_P=E9rez?= <jperez@empresa.com.ar>
To: Soporte Acme <soporte@acme.com>
Subject: RE: Tu pedido =?iso-8859-1?Q?n=BA?= 4521
Thread-Topic: Tu pedido 4521
Thread-Index: AQHcTk1f8nV0aBd3S0uR2wIbZ8n0Jw==
Date: Mon, 3 Nov 2026 14:05:11 +0000
Message-ID: <DM6PR12MB4321A1B2C3D4E5F6A7B8@DM6PR12MB4321.namprd12.prod.outlook.com>
References: {SES_MESSAGE_ID}
In-Reply-To: {SES_MESSAGE_ID}
Accept-Language: es-AR, en-US
Content-Language: es-AR
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0

Buenas tardes, el comprobante de pago es el 88123.

Saludos cordiales
Juan P=E9rez

De: Soporte Acme <soporte@acme.com>
Enviado el: lunes, 3 de noviembre de 2026 10:00
Para: Juan P=E9rez <jperez@empresa.com.ar>
Asunto: Tu pedido n=BA 4521

Hola Juan, necesitamos el n=FAmero de comprobante.
""")

IPHONE_REPLY = crlf(f"""\
From: Ana Silva <ana.silva@icloud.com>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable
Mime-Version: 1.0 (1.0)
Subject: Re: Your order #4521 has shipped
Date: Mon, 3 Nov 2026 11:15:02 -0500
Message-Id: <5E2B7F3A-9C41-4D8E-B0A6-1F2E3D4C5B6A@icloud.com>
References: {SES_MESSAGE_ID}
In-Reply-To: {SES_MESSAGE_ID}
To: Acme Support <support@acme.com>
X-Mailer: iPhone Mail (22A3354)

Perfect, thanks! I=E2=80=99ll be home after 6pm.

Sent from my iPhone

On Nov 3, 2026, at 10:00=E2=80=AFAM, Acme Support <support@acme.com> wrote:

> =EF=BB=BFHi Ana, your order #4521 has shipped.
""")

HTML_ONLY = crlf("""\
From: =?iso-8859-1?q?Carlos_G=F3mez?= <carlos@example.org>
To: ventas@acme.com
Subject: Factura
Date: Tue, 4 Nov 2026 09:00:00 -0300
Message-ID: <html-only-1@example.org>
MIME-Version: 1.0
Content-Type: text/html; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

<html><head><title>Factura</title><style>p {margin:0}</style></head><body>
<p>Hola&nbsp;equipo,</p>
<p>Necesito la factura de <b>octubre</b> &amp; noviembre.<br>Gracias &#8212; Carlos</p>
<script>alert("x")</script>
<ul><li>Pedido 4521</li><li>Pedido 4522</li></ul>
<table><tr><td>Total:</td> <td>$ 1.250</td></tr></table>
<div>El lun, 3 nov 2026 a las 10:00, Soporte &lt;soporte@acme.com&gt; escribi=F3:</div>
<blockquote><p>Texto anterior</p></blockquote>
</body></html>
""")

WITH_ATTACHMENTS = crlf("""\
From: Laura Diaz <laura@example.com>
To: soporte@acme.com
Subject: Comprobante
Message-ID: <att-1@example.com>
Date: Tue, 4 Nov 2026 12:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed"

--mixed
Content-Type: multipart/related; boundary="related"

--related
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Adjunto el comprobante y una foto del paquete.

--alt
Content-Type: text/html; charset=utf-8

<p>Adjunto el comprobante y una foto del paquete.</p><img src="cid:foto1@example.com">

--alt--

--related
Content-Type: image/png; name="paquete.png"
Content-Transfer-Encoding: base64
Content-ID: <foto1@example.com>
Content-Disposition: inline; filename="paquete.png"

iVBORw0KGgoAAQIDBAUGBwgJCgsMDQ4P

--related--

--mixed
Content-Type: application/pdf; name="comprobante.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="comprobante.pdf"

JVBERi0xLjcKJeLjz9MKMSAwIG9iago8PD4+CmVuZG9iago=

--mixed--
""")

BOUNCE = crlf("""\
From: MAILER-DAEMON@amazonses.com
To: soporte@acme.com
Subject: Delivery Status Notification (Failure)
Message-ID: <0100019d5b1e2f30-aa11bb22-cc33-dd44-ee55-ff6677889900-000000@email.amazonses.com>
Date: Mon, 3 Nov 2026 13:00:05 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="report"

--report
Content-Type: text/plain; charset=us-ascii

An error occurred while trying to deliver the mail to the following recipients:
nobody@example.com

--report
Content-Type: message/delivery-status

Reporting-MTA: dns; a8-1.smtp-out.amazonses.com

Final-Recipient: rfc822; nobody@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--report
Content-Type: message/rfc822

From: soporte@acme.com
To: nobody@example.com
Subject: Tu pedido
Message-ID: <r1@acme.com>

Hola

--report--
""")

OUT_OF_OFFICE = crlf("""\
From: Pedro Alves <pedro@empresa.com.br>
To: Soporte Acme <soporte@acme.com>
Subject: =?utf-8?Q?Resposta_autom=C3=A1tica:_Tu_pedido?=
Thread-Topic: Tu pedido
Date: Mon, 3 Nov 2026 13:01:00 +0000
Message-ID: <a1b2c3d4e5f6@CP4PR80MB1234.lamprd80.prod.outlook.com>
Auto-Submitted: auto-generated
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: pedro@empresa.com.br
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

Estou fora do escrit=C3=B3rio at=C3=A9 10/11.
""")

READ_RECEIPT = crlf("""\
From: Juan Perez <jperez@empresa.com.ar>
To: soporte@acme.com
Subject: Read: Tu pedido
Message-ID: <mdn-1@empresa.com.ar>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="mdn"

--mdn
Content-Type: text/plain; charset=utf-8

Your message was read on Monday.

--mdn
Content-Type: message/disposition-notification

Final-Recipient: rfc822;jperez@empresa.com.ar
Original-Message-ID: <r1@acme.com>
Disposition: manual-action/MDN-sent-manually; displayed

--mdn--
""")


# --- parsing real-world replies ----------------------------------------------------------------------------


def test_gmail_reply_headers_are_read_and_decoded() -> None:
    parsed = parse_email(GMAIL_REPLY)

    assert parsed.message_id == GMAIL_ID
    assert parsed.in_reply_to == (SES_MESSAGE_ID,)
    assert parsed.references == ("<root-4521@acme.com>", SES_MESSAGE_ID)
    assert parsed.from_address == "maria.fernandez@gmail.com"
    assert parsed.from_name == "María Fernández"
    assert parsed.reply_to == "maria.f+pedidos@gmail.com"
    assert parsed.to == ("soporte@acme.com",)
    assert parsed.cc == ("jperez@empresa.com.ar", "ventas@acme.com")
    assert parsed.delivered_to == ("soporte@acme.com", "ventas@acme.com")
    assert parsed.subject == "Re: Tu pedido nº 4521"
    assert parsed.date == datetime(2026, 11, 3, 13, 42, 17, tzinfo=UTC)
    assert (parsed.attachments, parsed.auto_submitted, parsed.bounce) == ((), False, False)


def test_gmail_reply_prefers_the_plain_part_and_cuts_the_wrapped_spanish_attribution() -> None:
    parsed = parse_email(GMAIL_REPLY)

    assert parsed.text.startswith("Hola, el pedido todavía no llegó. ¿Pueden revisar?\n\nGracias,\nMaría\n\nEl lun")
    assert "> Hola María, tu pedido 4521 está en camino." in parsed.text
    assert "<div" not in parsed.text
    assert parsed.new_text == "Hola, el pedido todavía no llegó. ¿Pueden revisar?\n\nGracias,\nMaría"


def test_gmail_html_part_alone_gives_the_same_new_text() -> None:
    html_start = GMAIL_REPLY.index(b'<div dir=3D"ltr">')
    html_end = GMAIL_REPLY.index(b"--000000000000d3c1a80642b1e0f2--")
    raw = (b"From: maria.fernandez@gmail.com\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
           + GMAIL_REPLY[html_start:html_end])

    parsed = parse_email(raw)

    assert parsed.text == (
        "Hola, el pedido todavía no llegó. ¿Pueden revisar?\n\nGracias,\nMaría\n\n"
        "El lun, 3 nov 2026 a las 10:00, Soporte <soporte@acme.com> escribió:\n"
        "> Hola María, tu pedido 4521 está en camino.\n\n> Saludos,\n> Soporte Acme"
    )
    assert parsed.new_text == "Hola, el pedido todavía no llegó. ¿Pueden revisar?\n\nGracias,\nMaría"


def test_outlook_reply_is_cut_at_the_de_enviado_block() -> None:
    parsed = parse_email(OUTLOOK_REPLY)

    assert parsed.from_name == "Juan Pérez"
    assert parsed.subject == "RE: Tu pedido nº 4521"
    assert "Hola Juan, necesitamos el número de comprobante." in parsed.text
    assert parsed.new_text == "Buenas tardes, el comprobante de pago es el 88123.\n\nSaludos cordiales\nJuan Pérez"


def test_normal_outlook_mail_with_only_auto_response_suppress_is_not_auto_submitted() -> None:
    raw = OUTLOOK_REPLY.replace(b"X-MS-Has-Attach:", b"X-Auto-Response-Suppress: All\r\nX-MS-Has-Attach:")

    parsed = parse_email(raw)

    assert b"X-Auto-Response-Suppress: All" in raw
    assert parsed.auto_submitted is False
    assert parsed.bounce is False


def test_iphone_reply_is_cut_at_on_wrote() -> None:
    parsed = parse_email(IPHONE_REPLY)

    assert parsed.message_id == "<5E2B7F3A-9C41-4D8E-B0A6-1F2E3D4C5B6A@icloud.com>"
    assert parsed.date == datetime(2026, 11, 3, 16, 15, 2, tzinfo=UTC)
    assert parsed.new_text == "Perfect, thanks! I\u2019ll be home after 6pm.\n\nSent from my iPhone"


def test_html_only_message_is_converted_to_readable_text() -> None:
    parsed = parse_email(HTML_ONLY)

    assert parsed.from_name == "Carlos Gómez"
    assert parsed.text == (
        "Hola equipo,\n"
        "Necesito la factura de octubre & noviembre.\n"
        "Gracias \u2014 Carlos\n"
        "- Pedido 4521\n"
        "- Pedido 4522\n"
        "Total: $ 1.250\n"
        "El lun, 3 nov 2026 a las 10:00, Soporte <soporte@acme.com> escribió:\n"
        "> Texto anterior"
    )
    assert parsed.new_text == (
        "Hola equipo,\nNecesito la factura de octubre & noviembre.\nGracias \u2014 Carlos\n- Pedido 4521\n"
        "- Pedido 4522\nTotal: $ 1.250"
    )


# --- quoted history and signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Dale, gracias.\n\n________________________________\nDe: Soporte\nHola", "Dale, gracias.",
                     id="outlook-underscore-separator"),
        pytest.param("Thanks.\n-----Original Message-----\nFrom: Acme\nSent: Monday\nHi", "Thanks.",
                     id="original-message"),
        pytest.param("Listo.\n\n-----Mensaje original-----\nDe: Acme\nHola", "Listo.", id="mensaje-original"),
        pytest.param(
            "Obrigado!\n\nEm seg., 3 de nov. de 2026 às 10:00, Soporte <soporte@acme.com> escreveu:\n> Olá",
            "Obrigado!", id="portuguese-attribution",
        ),
        pytest.param("Thanks!\n\n*From:* Acme Support\n*Sent:* Monday, November 3, 2026\n*To:* Ana\nHi",
                     "Thanks!", id="outlook-block-rendered-bold-by-gmail"),
        pytest.param("Recibido.\n\n-- \nJuan Pérez\nGerente", "Recibido.", id="signature-delimiter"),
        pytest.param("Ok, espero.\n\n> tu pedido\n> está en camino\n", "Ok, espero.", id="trailing-quote-lines"),
        pytest.param(
            "On my way home now.\nOn Mon, Nov 3, 2026 at 10:00 AM Acme <a@acme.com> wrote:\n> old",
            "On my way home now.", id="sentence-starting-with-on-is-kept",
        ),
        pytest.param("Ticket:\nDe: Buenos Aires\nA: Córdoba\nAsiento 12", "Ticket:\nDe: Buenos Aires\nA: Córdoba\n"
                     "Asiento 12", id="de-without-sent-line-is-kept"),
        pytest.param("> only\n> quoted text", "> only\n> quoted text", id="nothing-new-falls-back-to-text"),
    ],
)
def test_strip_quoted_text(text: str, expected: str) -> None:
    assert strip_quoted_text(text) == expected


# --- encodings -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charset", "cte", "body"),
    [
        ("iso-8859-1", "quoted-printable", "Atenci=F3n: el env=EDo lleg=F3 da=F1ado.\nSaludos\n"),
        ("iso-8859-1", "base64", "QXRlbmNp8246IGVsIGVudu1vIGxsZWfzIGRh8WFkby4KU2FsdWRvcwo=\n"),
        ("utf-8", "quoted-printable", "Atenci=C3=B3n: el env=C3=ADo lleg=C3=B3 da=C3=B1ado.\nSaludos\n"),
        ("utf-8", "base64", "QXRlbmNpw7NuOiBlbCBlbnbDrW8gbGxlZ8OzIGRhw7FhZG8uClNhbHVkb3MK\n"),
    ],
)
def test_transfer_encodings_and_charsets_are_decoded(charset: str, cte: str, body: str) -> None:
    raw = crlf(f"From: cliente@example.com\nSubject: Reclamo\nMIME-Version: 1.0\n"
               f"Content-Type: text/plain; charset=\"{charset}\"\nContent-Transfer-Encoding: {cte}\n\n{body}")

    assert parse_email(raw).text == "Atención: el envío llegó dañado.\nSaludos"


def test_rfc2047_base64_subject_and_display_name_are_decoded() -> None:
    raw = simple("From: =?UTF-8?B?Sm9zw6kgTsO6w7Fleg==?= <jose.nunez@example.com>\n"
                 "Subject: =?UTF-8?B?Q29uc3VsdGEgc29icmUgZmFjdHVyYWNpw7NuIOKCrA==?=")

    parsed = parse_email(raw)

    assert (parsed.from_name, parsed.subject) == ("José Núñez", "Consulta sobre facturación €")


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_raw_eight_bit_headers_are_decoded(encoding: str) -> None:
    raw = crlf("From: José Núñez <jose@example.com>\nSubject: Reclamo envío\n\nHola\n", encoding)

    parsed = parse_email(raw)

    assert (parsed.from_name, parsed.subject, parsed.from_address) == ("José Núñez", "Reclamo envío",
                                                                        "jose@example.com")


def test_display_name_split_mid_word_into_two_encoded_words_is_joined() -> None:
    raw = simple("From: =?UTF-8?Q?Mar=C3=ADa_Fern?=\n =?UTF-8?Q?=C3=A1ndez?= <maria@example.com>")

    assert parse_email(raw).from_name == "María Fernández"


def test_display_name_given_as_a_comment_is_read() -> None:
    assert parse_email(simple("From: juan@example.com (Juan Perez)")).from_name == "Juan Perez"


@pytest.mark.parametrize("charset", ["x-klingon", "base64"])
def test_unknown_charset_falls_back_to_utf8_without_raising(charset: str) -> None:
    raw = crlf(f"From: a@example.com\nContent-Type: text/plain; charset={charset}\n\nñandú\n")

    assert parse_email(raw).text == "ñandú"


def test_nul_in_the_charset_of_an_eight_bit_part_does_not_raise() -> None:
    # Found by fuzzing: Message.get_payload() decodes 8-bit payloads by charset, and NUL makes that raise.
    raw = (b'From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
           b"--b\r\nContent-Type: text/plain; charset=\"utf\x00-8\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           b"se\xc3\xb1al\r\n--b--\r\n")

    assert parse_email(raw).text == "señal"


def test_text_is_truncated_to_max_text_chars() -> None:
    raw = simple("From: a@example.com", body="x" * 100 + "\n")

    assert parse_email(raw, max_text_chars=10).text == "x" * 10
    with pytest.raises(ValueError, match="max_text_chars"):
        parse_email(raw, max_text_chars=0)


# --- identifiers and dates ---------------------------------------------------------------------------------------


def test_message_ids_lose_whitespace_and_references_are_deduplicated_in_order() -> None:
    raw = simple("From: a@example.com\n"
                 "Message-ID:\n <CAF+abc\n def@mail.gmail.com>\n"
                 "In-Reply-To: <p1@acme.com> (Soporte's message of Mon, 3 Nov 2026)\n"
                 "References: <root@acme.com>\n <p0@acme.com> <root@acme.com>\n\t<p1@acme.com>")

    parsed = parse_email(raw)

    assert parsed.message_id == "<CAF+abcdef@mail.gmail.com>"
    assert parsed.in_reply_to == ("<p1@acme.com>",)
    assert parsed.references == ("<root@acme.com>", "<p0@acme.com>", "<p1@acme.com>")


def test_message_id_without_angle_brackets_is_wrapped() -> None:
    assert parse_email(simple("From: a@example.com\nMessage-ID: bare-1@example.com")).message_id == (
        "<bare-1@example.com>"
    )


def test_missing_message_id_is_synthesized_from_the_bytes_stably() -> None:
    raw = simple("From: a@example.com\nSubject: sin id")
    other = simple("From: a@example.com\nSubject: otro")

    first, second = parse_email(raw), parse_email(raw)

    assert first.message_id == f"<{hashlib.sha256(raw).hexdigest()[:32]}@missing-message-id.invalid>"
    assert second.message_id == first.message_id
    assert parse_email(other).message_id != first.message_id


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Date: Mon, 3 Nov 2026 10:42:17 -0300", datetime(2026, 11, 3, 13, 42, 17, tzinfo=UTC)),
        ("Date: Mon, 3 Nov 2026 10:42:17 -0000", datetime(2026, 11, 3, 10, 42, 17, tzinfo=UTC)),
        ("Date: 3 Nov 2026 10:42 GMT", datetime(2026, 11, 3, 10, 42, tzinfo=UTC)),
        ("Date: not a date", None),
        ("Date: Mon, 33 Nov 2026 10:00:00 +0000", None),
        ("X-No-Date: yes", None),
    ],
)
def test_date_is_aware_utc_or_none(header: str, expected: datetime | None) -> None:
    assert parse_email(simple(f"From: a@example.com\n{header}")).date == expected


# --- attachments -------------------------------------------------------------------------------------------------


def test_pdf_attachment_and_inline_image_are_described() -> None:
    parsed = parse_email(WITH_ATTACHMENTS)

    assert parsed.text == "Adjunto el comprobante y una foto del paquete."
    assert parsed.attachments == (
        Attachment(index=0, filename="paquete.png", content_type="image/png", size=len(PNG),
                   content_id="foto1@example.com", inline=True),
        Attachment(index=1, filename="comprobante.pdf", content_type="application/pdf", size=len(PDF),
                   content_id=None, inline=False),
    )


def test_attachment_bytes_returns_the_decoded_payloads() -> None:
    assert attachment_bytes(WITH_ATTACHMENTS, 0) == ("paquete.png", "image/png", PNG)
    assert attachment_bytes(WITH_ATTACHMENTS, 1) == ("comprobante.pdf", "application/pdf", PDF)


@pytest.mark.parametrize("index", [2, -1])
def test_attachment_bytes_raises_index_error_for_a_missing_attachment(index: int) -> None:
    with pytest.raises(IndexError):
        attachment_bytes(WITH_ATTACHMENTS, index)


@pytest.mark.parametrize(("declared", "expected"), [("../../etc/passwd", "passwd"),
                                                    (r"C:\\Users\\ana\\factura.pdf", "factura.pdf")])
def test_attachment_filename_loses_any_directory_part(declared: str, expected: str) -> None:
    # `declared` is the quoted-string as written in the header: a backslash in it is escaped (RFC 5322).
    raw = crlf(f'From: a@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n'
               f'--b\nContent-Type: text/plain\n\nver adjunto\n--b\nContent-Type: application/octet-stream\n'
               f'Content-Disposition: attachment; filename="{declared}"\n\ndata\n--b--\n')

    assert [a.filename for a in parse_email(raw).attachments] == [expected]


def test_forwarded_message_is_one_attachment_and_not_the_body() -> None:
    raw = crlf('From: ana@example.com\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="fwd"\n\n'
               "--fwd\nContent-Type: text/plain; charset=utf-8\n\nLes reenvío el correo del transportista.\n"
               '--fwd\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename="demora.eml"\n\n'
               "From: envios@transportista.com\nSubject: Demora\n\nSu envío se demora.\n--fwd--\n")

    parsed = parse_email(raw)

    assert parsed.text == "Les reenvío el correo del transportista."
    assert [(a.index, a.filename, a.content_type) for a in parsed.attachments] == [
        (0, "demora.eml", "message/rfc822")
    ]
    assert b"Subject: Demora" in attachment_bytes(raw, 0)[2]


# --- bounces and automatic mail ----------------------------------------------------------------------------------


def test_mailer_daemon_delivery_report_is_a_bounce() -> None:
    parsed = parse_email(BOUNCE)

    assert parsed.bounce is True
    assert parsed.from_address == "mailer-daemon@amazonses.com"
    assert parsed.text.startswith("An error occurred while trying to deliver the mail")
    assert [a.content_type for a in parsed.attachments] == ["message/delivery-status", "message/rfc822"]
    assert b"Status: 5.1.1" in attachment_bytes(BOUNCE, 0)[2]
    assert b"Subject: Tu pedido" in attachment_bytes(BOUNCE, 1)[2]


@pytest.mark.parametrize(
    "headers",
    ["From: Postmaster@mail.example.org", "From: alerts@example.org\nX-Failed-Recipients: nobody@example.com"],
)
def test_postmaster_and_failed_recipients_are_bounces(headers: str) -> None:
    assert parse_email(simple(headers)).bounce is True


def test_out_of_office_reply_is_auto_submitted() -> None:
    parsed = parse_email(OUT_OF_OFFICE)

    assert parsed.auto_submitted is True
    assert parsed.bounce is False
    assert parsed.subject == "Resposta automática: Tu pedido"
    assert parsed.text == "Estou fora do escritório até 10/11."


def test_read_receipt_is_automatic_but_not_a_bounce() -> None:
    parsed = parse_email(READ_RECEIPT)

    assert (parsed.auto_submitted, parsed.bounce) == (True, False)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("Auto-Submitted: auto-replied", True),
        ("Auto-Submitted: no", False),
        ("X-Autoreply: yes", True),
        ("X-Autorespond: Out of office", True),
        ("Precedence: bulk", True),
        ("Precedence: auto_reply", True),
        ("List-Id: <novedades.acme.com>", True),
        ("List-Unsubscribe: <mailto:unsubscribe@acme.com>", True),
        ("X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply", False),
        ("X-Auto-Response-Suppress: OOF\nPrecedence: first-class", True),
    ],
)
def test_auto_submitted_signals(extra: str, expected: bool) -> None:
    assert parse_email(simple(f"From: a@example.com\n{extra}")).auto_submitted is expected


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
        b"just some text, not an email",
        crlf("Subject: no sender\n\nHola\n"),
        crlf("From: undisclosed\nSubject: x\n\nHola\n"),
        crlf("From: <>\nSubject: x\n\nHola\n"),
    ],
    ids=["empty", "png", "plain-text", "no-from", "from-without-at", "null-from"],
)
def test_not_an_email_or_no_usable_from_raises_malformed_email(raw: bytes) -> None:
    with pytest.raises(MalformedEmail):
        parse_email(raw)


# --- building replies ----------------------------------------------------------------------------------------

REPLY_TEXT = ("Hola María,\n\nTu pedido nº 4521 salió hoy por Andreani; el número de seguimiento es AND-99812 y "
              "debería llegar el jueves.\n\n-- \nSoporte Acme")


def build_reply(**overrides: Any) -> bytes:
    fields: dict[str, Any] = {
        "from_address": "soporte@acme.com",
        "from_name": "Soporte Ácme",
        "to": ["maria.fernandez@gmail.com"],
        "subject": "Re: Tu pedido nº 4521",
        "text": REPLY_TEXT,
        "message_id": "<r-2.4521@acme.com>",
        "in_reply_to": GMAIL_ID,
        "references": ["<root-4521@acme.com>", SES_MESSAGE_ID, GMAIL_ID],
        "date": datetime(2026, 11, 3, 14, 0, tzinfo=UTC),
    }
    return build_email(**(fields | overrides))


def test_round_trip_keeps_ids_subject_name_text_and_attachment_bytes() -> None:
    raw = build_reply(html="<p>Hola <b>María</b></p>", auto_submitted=True,
                      attachments=[("guía ñ.pdf", "application/pdf", PDF + bytes(range(256))),
                                   ("foto.png", "image/png", PNG)])

    parsed = parse_email(raw)

    assert parsed.message_id == "<r-2.4521@acme.com>"
    assert parsed.in_reply_to == (GMAIL_ID,)
    assert parsed.references == ("<root-4521@acme.com>", SES_MESSAGE_ID, GMAIL_ID)
    assert parsed.subject == "Re: Tu pedido nº 4521"
    assert (parsed.from_name, parsed.from_address, parsed.to) == ("Soporte Ácme", "soporte@acme.com",
                                                                  ("maria.fernandez@gmail.com",))
    assert parsed.date == datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
    assert parsed.text == REPLY_TEXT
    assert parsed.new_text == REPLY_TEXT.split("\n\n-- ")[0]
    assert parsed.auto_submitted is True
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("guía ñ.pdf", "application/pdf"),
                                                                         ("foto.png", "image/png")]
    assert attachment_bytes(raw, 0) == ("guía ñ.pdf", "application/pdf", PDF + bytes(range(256)))
    assert attachment_bytes(raw, 1) == ("foto.png", "image/png", PNG)


def test_built_message_is_crlf_seven_bit_and_keeps_long_ids_verbatim() -> None:
    # Short non-ASCII lines would fit 8-bit transfer encoding: the body must still be 7-bit clean.
    raw = build_reply(text="Hola María,\nya salió.",
                      headers={"List-Unsubscribe": "<https://acme.example.com/baja/" + "x" * 90 + ">"})

    head = raw.split(b"\r\n\r\n", 1)[0]
    assert max(raw) < 0x80
    assert raw.count(b"\n") == raw.count(b"\r\n")
    assert f"\r\nIn-Reply-To: {GMAIL_ID}\r\n".encode() in head
    assert f"References: <root-4521@acme.com>\r\n {SES_MESSAGE_ID}\r\n {GMAIL_ID}\r\n".encode() in head
    assert b"=?" not in head.split(b"\r\nIn-Reply-To:")[1]  # ids and URLs are never RFC 2047-encoded
    assert b"From: =?utf-8?b?U29wb3J0ZSDDgWNtZQ==?= <soporte@acme.com>\r\n" in head
    assert b"Subject: Re: Tu pedido =?utf-8?b?bsK6IDQ1MjE=?=\r\n" in head
    assert b"Auto-Submitted" not in head
    assert parse_email(raw).text == "Hola María,\nya salió."


@pytest.mark.parametrize(
    "phrase",
    [
        "Centro de Atención al Cliente — Telecomunicaciones Argentinas de Latinoamérica y el Caribe",
        # Python 3.11/3.12's own folder turns the space in "úÁe içcj" into encoded-word separation, i.e. drops it.
        "éÓañbf gdhñÁüÁüiñ ÓÁ bícg úÁe içcj fcejÑ bcú",
        "c dc fúcgúañçÁ íÓéüeajñ çdej cié eeçc hcíÓhibÑ hbgjÁdcí éça eÓañe abíidéçe cjf",
    ],
)
def test_long_non_ascii_name_and_subject_keep_every_space(phrase: str) -> None:
    raw = build_reply(from_name=phrase, subject=f"Re: {phrase}", in_reply_to=None, references=())

    head = raw.split(b"\r\n\r\n", 1)[0]  # without References: an SES msg-id alone is 82 characters
    parsed = parse_email(raw)
    assert (parsed.from_name, parsed.subject) == (phrase, f"Re: {phrase}")
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    assert b"\r\nSubject: Re:" in head  # the leading plain words stay readable


def test_extra_header_holding_encoded_words_is_written_as_given() -> None:
    raw = build_reply(headers={"X-Cliente": "=?utf-8?q?Jos=C3=A9?="})

    assert max(raw) < 0x80
    assert b"\r\nX-Cliente: =?utf-8?q?Jos=C3=A9?=\r\n" in raw


def test_plain_reply_is_a_single_text_part_and_html_makes_it_alternative() -> None:
    plain = parse_email(build_reply())
    assert b"Content-Type: text/plain; charset=\"utf-8\"" in build_reply()
    assert b"multipart" not in build_reply()
    assert plain.attachments == ()

    with_html = build_reply(html="<p>Hola</p>")
    assert b"Content-Type: multipart/alternative" in with_html
    assert with_html.count(b"MIME-Version") == 1
    assert parse_email(with_html).text == REPLY_TEXT


@pytest.mark.parametrize(
    "overrides",
    [
        {"from_name": "Ana\r\nBcc: victim@example.com"},
        {"subject": "Hola\nBcc: victim@example.com"},
        {"subject": "Hola\u2028Bcc: victim@example.com"},
        {"from_address": "soporte@acme.com\nBcc: victim@example.com"},
        {"to": ["maria@gmail.com\r\nBcc: victim@example.com"]},
        {"message_id": "<r@acme.com>\r\nBcc: victim@example.com"},
        {"in_reply_to": "<p@x.com>\nBcc: victim@example.com"},
        {"references": ["<p@x.com>\r\n Bcc: victim@example.com"]},
        {"headers": {"X-Ticket": "4521\r\nBcc: victim@example.com"}},
        {"headers": {"X-Ticket\r\nBcc": "victim@example.com"}},
        {"attachments": [("a.pdf\r\nBcc: victim@example.com", "application/pdf", b"x")]},
    ],
)
def test_header_injection_is_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="line breaks|header name"):
        build_reply(**overrides)


@pytest.mark.parametrize(
    "address",
    ["no-at-sign", "two@@example.com", "a@b@example.com", "ana maria@example.com", "@example.com", "ana@",
     "ana@-bad-.com", "Ana <ana@example.com>", "a@example.com,b@example.com"],
)
def test_invalid_addresses_are_refused(address: str) -> None:
    with pytest.raises(ValueError, match="not a valid email address"):
        build_reply(to=[address])
    with pytest.raises(ValueError, match="not a valid email address"):
        build_reply(from_address=address)


@pytest.mark.parametrize(
    "overrides",
    [
        {"to": []},
        {"to": "maria@gmail.com"},
        {"message_id": "r-2@acme.com"},
        {"date": datetime(2026, 11, 3, 14, 0)},
        {"headers": {"Message-ID": "<other@acme.com>"}},
        {"headers": {"Bcc": "spy@example.com"}},
        {"attachments": [("a.pdf", "pdf", b"x")]},
        {"attachments": [("a.zip", "multipart/mixed", b"x")]},
    ],
    ids=["no-recipient", "to-as-string", "id-without-brackets", "naive-date", "reserved-header", "bcc-header",
         "bad-content-type", "multipart-attachment"],
)
def test_invalid_build_arguments_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        build_reply(**overrides)


# --- threading helpers ---------------------------------------------------------------------------------------


def test_references_for_reply_keeps_the_root_and_the_last_nineteen() -> None:
    parent_refs = [f"<r{i}@x.com>" for i in range(30)]

    refs = references_for_reply("<p@x.com>", parent_refs)

    assert len(refs) == 20
    assert refs == ("<r0@x.com>", *[f"<r{i}@x.com>" for i in range(12, 30)], "<p@x.com>")


def test_references_for_reply_appends_the_parent_once_and_normalizes_ids() -> None:
    assert references_for_reply("<p@x.com>", ["<a@x.com>", "<p@x.com>", " <a@x.com> "]) == ("<a@x.com>", "<p@x.com>")
    assert references_for_reply("p@x.com", []) == ("<p@x.com>",)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Tu pedido", "Re: Tu pedido"),
        ("Re: Tu pedido", "Re: Tu pedido"),
        ("RE: Tu pedido", "RE: Tu pedido"),
        ("re: tu pedido", "re: tu pedido"),
        ("AW: Bestellung", "AW: Bestellung"),
        ("RV: Factura", "RV: Factura"),
        ("Fwd: Factura", "Re: Fwd: Factura"),
        ("Reclamo", "Re: Reclamo"),
        ("", "Re: (sin asunto)"),
        ("   ", "Re: (sin asunto)"),
    ],
)
def test_reply_subject(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected


def test_make_message_id_builds_and_validates() -> None:
    assert make_message_id("mail.acme-ar.com", "r-2.4521") == "<r-2.4521@mail.acme-ar.com>"
    for domain in ["acme com", "acme.com>", "", "-acme.com", "acme..com", "acme.com\r\n"]:
        with pytest.raises(ValueError, match="domain"):
            make_message_id(domain, "r-1")
    for unique in ["a b", "", "a@b", "<x>", "x\n"]:
        with pytest.raises(ValueError, match="left part"):
            make_message_id("acme.com", unique)


# --- SES ---------------------------------------------------------------------------------------------------------

# The receipt object of an S3-action notification, as in the SES documentation's examples.
RECEIPT: dict[str, Any] = {
    "timestamp": "2026-11-03T13:42:31.936Z",
    "processingTimeMillis": 222,
    "recipients": ["soporte@acme.com"],
    "spamVerdict": {"status": "PASS"},
    "virusVerdict": {"status": "PASS"},
    "spfVerdict": {"status": "PASS"},
    "dkimVerdict": {"status": "PASS"},
    "dmarcVerdict": {"status": "PASS"},
    "action": {"type": "S3", "topicArn": "arn:aws:sns:us-east-1:123456789012:inbound-mail",
               "bucketName": "acme-inbound-mail", "objectKeyPrefix": "inbound/",
               "objectKey": "inbound/d6iitobk75ur44p8kdnnp7g2n800"},
}


def test_ses_verdicts_of_a_clean_message() -> None:
    verdicts = ses_verdicts(RECEIPT)

    assert verdicts == SesVerdicts("PASS", "PASS", "PASS", "PASS", "PASS", None)
    assert (verdicts.refusal(), verdicts.spam, verdicts.authenticated) == (None, False, True)
    assert ses_verdicts({"notificationType": "Received", "mail": {}, "receipt": RECEIPT}) == verdicts


def test_ses_verdicts_missing_keys_are_unknown() -> None:
    verdicts = ses_verdicts({"spamVerdict": None, "virusVerdict": {}, "timestamp": "2026-11-03T13:42:31.936Z"})

    assert verdicts == SesVerdicts("UNKNOWN", "UNKNOWN", "UNKNOWN", "UNKNOWN", "UNKNOWN", None)
    assert (verdicts.refusal(), verdicts.spam, verdicts.authenticated) == (None, False, False)


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"virusVerdict": {"status": "FAIL"}}, "virus detected by SES"),
        ({"dmarcVerdict": {"status": "FAIL"}, "dmarcPolicy": "reject"},
         "DMARC failed and the sender's domain asks to reject"),
        ({"dmarcVerdict": {"status": "FAIL"}, "dmarcPolicy": "REJECT"},
         "DMARC failed and the sender's domain asks to reject"),
        ({"dmarcVerdict": {"status": "FAIL"}, "dmarcPolicy": "quarantine"}, None),
        ({"dmarcVerdict": {"status": "FAIL"}}, None),
        ({"spamVerdict": {"status": "FAIL"}}, None),
    ],
)
def test_ses_refusal(changes: dict[str, Any], refusal: str | None) -> None:
    assert ses_verdicts(RECEIPT | changes).refusal() == refusal


def test_ses_spam_fail_is_flagged() -> None:
    assert ses_verdicts(RECEIPT | {"spamVerdict": {"status": "FAIL"}}).spam is True


@pytest.mark.parametrize(
    ("dkim", "spf", "dmarc", "expected"),
    [("PASS", "FAIL", "PASS", True), ("FAIL", "PASS", "GRAY", True), ("PASS", "PASS", "FAIL", False),
     ("GRAY", "PROCESSING_FAILED", "PASS", False)],
)
def test_ses_authenticated(dkim: str, spf: str, dmarc: str, expected: bool) -> None:
    receipt = RECEIPT | {"dkimVerdict": {"status": dkim}, "spfVerdict": {"status": spf},
                         "dmarcVerdict": {"status": dmarc}}

    assert ses_verdicts(receipt).authenticated is expected


def test_ses_message_id_header_by_region() -> None:
    assert ses_message_id_header(SES_ID, "us-east-1") == SES_MESSAGE_ID
    assert ses_message_id_header(SES_ID, "eu-west-1") == f"<{SES_ID}@eu-west-1.amazonses.com>"
    for region in ["EU-WEST-1", "us-east-1.evil.com", ""]:
        with pytest.raises(ValueError, match="region"):
            ses_message_id_header(SES_ID, region)
    for bad_id in [f"<{SES_ID}>", "a b", ""]:
        with pytest.raises(ValueError, match="SES message id"):
            ses_message_id_header(bad_id, "us-east-1")
