"""The words, places and texts that the demo data is drawn from.

Names, streets and companies are Croatian, with a few Slovenian contacts, and
every company and email domain is fictional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from logsteer_tui.db.models import MessageStatus, MessageType

MALE_NAMES = (
    "Ivan",
    "Marko",
    "Luka",
    "Josip",
    "Tomislav",
    "Ante",
    "Petar",
    "Nikola",
    "Stjepan",
    "Mario",
    "Dario",
    "Krešimir",
    "Željko",
    "Dražen",
    "Čedomir",
    "Đuro",
    "Goran",
    "Zvonimir",
    "Matej",
    "Filip",
    "Hrvoje",
    "Damir",
    "Boris",
    "Siniša",
    "Vedran",
    "Šime",
    "Frane",
    "Mate",
    "Juraj",
    "Domagoj",
)
FEMALE_NAMES = (
    "Ana",
    "Marija",
    "Ivana",
    "Petra",
    "Lucija",
    "Maja",
    "Katarina",
    "Mia",
    "Ema",
    "Sara",
    "Nikolina",
    "Snježana",
    "Željka",
    "Đurđica",
    "Gordana",
    "Jasna",
    "Mirjana",
    "Dubravka",
    "Vesna",
    "Lana",
    "Tea",
    "Ružica",
    "Božena",
    "Anđela",
    "Martina",
    "Helena",
    "Sanja",
    "Tena",
    "Dora",
    "Antonija",
)
LAST_NAMES = (
    "Horvat",
    "Kovačević",
    "Babić",
    "Marić",
    "Jurić",
    "Novak",
    "Kovačić",
    "Knežević",
    "Vuković",
    "Marković",
    "Petrović",
    "Matić",
    "Tomić",
    "Pavlović",
    "Božić",
    "Blažević",
    "Grgić",
    "Pavić",
    "Radić",
    "Perić",
    "Šimić",
    "Đurđević",
    "Kolar",
    "Lovrić",
    "Jukić",
    "Barišić",
    "Živković",
    "Šarić",
    "Vidović",
    "Čović",
    "Tadić",
    "Mlinarić",
    "Bašić",
    "Mikulić",
    "Ćosić",
    "Ružić",
    "Lončar",
    "Brkić",
    "Žužul",
    "Šoštarić",
    "Dujmović",
    "Bošnjak",
    "Galić",
    "Vlašić",
    "Čizmić",
)
SLOVENIAN_FIRST_NAMES = (
    "Janez",
    "Mojca",
    "Primož",
    "Urška",
    "Matjaž",
    "Špela",
    "Luka",
    "Nina",
)
SLOVENIAN_LAST_NAMES = (
    "Novak",
    "Kranjc",
    "Zupančič",
    "Kovač",
    "Potočnik",
    "Mlakar",
    "Vidmar",
    "Žagar",
)


@dataclass(frozen=True)
class City:
    name: str
    postal_code: str
    country: str
    landline_prefix: str
    """E.164 prefix of the city's landlines; a subscriber number fills the rest."""

    subscriber_digits: int
    weight: int


CROATIAN_CITIES = (
    City("Zagreb", "10000", "HR", "+3851", 7, 40),
    City("Split", "21000", "HR", "+38521", 6, 14),
    City("Rijeka", "51000", "HR", "+38551", 6, 12),
    City("Osijek", "31000", "HR", "+38531", 6, 10),
    City("Zadar", "23000", "HR", "+38523", 6, 6),
    City("Pula", "52100", "HR", "+38552", 6, 5),
    City("Varaždin", "42000", "HR", "+38542", 6, 5),
    City("Dubrovnik", "20000", "HR", "+38520", 6, 4),
    City("Karlovac", "47000", "HR", "+38547", 6, 2),
    City("Slavonski Brod", "35000", "HR", "+38535", 6, 2),
)
SLOVENIAN_CITY = City("Ljubljana", "1000", "SI", "+3861", 7, 1)
CROATIAN_STREETS = (
    "Ilica",
    "Vukovarska ulica",
    "Savska cesta",
    "Ulica kralja Zvonimira",
    "Ulica Ante Starčevića",
    "Ulica Stjepana Radića",
    "Ulica hrvatskih branitelja",
    "Obala kneza Branimira",
    "Šetalište Ivana Meštrovića",
    "Ulica Petra Krešimira IV.",
    "Ulica Domovinskog rata",
    "Zagrebačka ulica",
    "Ulica Matije Gupca",
    "Trg bana Josipa Jelačića",
    "Ulica Ivana Gundulića",
)
SLOVENIAN_STREETS = ("Slovenska cesta", "Celovška cesta", "Trubarjeva ulica")
CROATIAN_MOBILE_PREFIXES = ("+38591", "+38591", "+38598", "+38598", "+38595", "+38599")
SLOVENIAN_MOBILE_PREFIXES = ("+38640", "+38641", "+38631", "+38651")
COMPANY_DOMAINS = {
    "Jadran Trgovina d.o.o.": "jadran-trgovina.example",
    "Mlinar Pekara d.o.o.": "mlinar-pekara.example",
    "Sunčani Put j.d.o.o.": "suncani-put.example",
    "Zelena Dolina d.o.o.": "zelena-dolina.example",
    "Brodogradnja Kvarner d.o.o.": "brodogradnja-kvarner.example",
    "Obrt Čizmić": "obrt-cizmic.example",
    "Drvo-Lux d.o.o.": "drvo-lux.example",
    "Šibenski Kamen d.o.o.": "sibenski-kamen.example",
}
"""Fictional companies and the email domains of their staff."""

COMPANIES = tuple(COMPANY_DOMAINS)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "posta.example")
NOTES = (
    "Preferira SMS nakon 17 h.",
    "Zvao zbog kašnjenja dostave; obećan povratni poziv.",
    "Račun R1 šaljite na e-mail.",
    "Stalni kupac od 2019.",
    "Ne zvati prije 9:00.",
    "Želi tiskani katalog poštom.",
    "Žalio se na ambalažu, poslan poklon-bon od 10 €.",
    "Plaća pouzećem.",
    "Dostava samo radnim danom, portir u prizemlju.",
)
ORDER_STATUSES = ("new", "paid", "shipped", "delivered", "delivered", "cancelled")
SMS_BODIES = {
    MessageType.PROMOTIONAL: (
        "Vikend akcija: -20 % na sve uz kod VIKEND20. Odjava: STOP na ovaj broj.",
        "{first}, novi katalog je stigao! Ponuda na logsteer.example/katalog. "
        "Odjava: STOP",
        "Black Friday: do -40 % samo danas. Odjava: STOP",
    ),
    MessageType.SALES: (
        "Poštovani {first}, ponuda za vas je spremna. Javite se na 01 555 0100.",
        "{first}, vaš kupon od 10 EUR vrijedi još 3 dana.",
    ),
    MessageType.TRANSACTIONAL: (
        "Vaša narudžba {order} je zaprimljena. Hvala!",
        "Narudžba {order} je poslana. Dostava za 1-2 radna dana.",
        "Your order {order} has shipped and arrives in 1-2 working days.",
        "Podsjetnik: preuzimanje narudžbe {order} sutra od 9 do 17 h.",
    ),
}
INBOUND_SMS_BODIES = (
    "Hvala!",
    "Kada stiže paket?",
    "OK",
    "Može li dostava u subotu?",
    "Molim nazovite me.",
    "Ne mogu otvoriti link.",
    "Super, hvala puno",
)
EMAIL_TEXTS = {
    MessageType.PROMOTIONAL: (
        "Novi katalog je stigao",
        "Pozdrav {first},\n\nnovi katalog je stigao, a prvih 100 narudžbi dobiva "
        "besplatnu dostavu.\n\nVaš Logsteer tim",
    ),
    MessageType.SALES: (
        "Ponuda za {first} {last}",
        "Poštovani {first},\n\nu privitku je ponuda koju smo dogovorili. Vrijedi 15 "
        "dana.\n\nLijep pozdrav",
    ),
    MessageType.TRANSACTIONAL: (
        "Potvrda narudžbe {order}",
        "Poštovani {first},\n\nzaprimili smo vašu narudžbu {order}. Javit ćemo vam "
        "kad bude poslana.\n\nHvala na povjerenju",
    ),
}
MESSAGE_TYPE_WEIGHTS = {
    MessageType.PROMOTIONAL: 4,
    MessageType.SALES: 2,
    MessageType.TRANSACTIONAL: 4,
}
OUTGOING_STATUS_WEIGHTS = {
    MessageStatus.DELIVERED: 70,
    MessageStatus.SENT: 12,
    MessageStatus.UNDELIVERED: 6,
    MessageStatus.FAILED: 5,
    MessageStatus.ERROR: 4,
}
SMS_ERRORS: dict[MessageStatus, tuple[tuple[str, str], ...]] = {
    MessageStatus.UNDELIVERED: (
        ("30003", "Unreachable destination handset"),
        ("30005", "Unknown destination handset"),
        ("30006", "Landline or unreachable carrier"),
    ),
    MessageStatus.FAILED: (
        ("30008", "Unknown error"),
        ("21614", "'To' number is not a valid mobile number"),
    ),
    MessageStatus.ERROR: (
        ("http_503", "Twilio returned 503 Service Unavailable after 5 attempts"),
        ("timeout", "Twilio did not answer within 10 seconds after 5 attempts"),
    ),
}
EMAIL_ERRORS: dict[MessageStatus, tuple[tuple[str, str], ...]] = {
    MessageStatus.UNDELIVERED: (("550", "5.1.1 The email account does not exist"),),
    MessageStatus.FAILED: (("554", "5.7.1 Message rejected as spam"),),
    MessageStatus.ERROR: (("smtp_timeout", "The SMTP server timed out after 30 s"),),
}
UNSUBSCRIBED_ERROR = ("21610", "Attempt to send to unsubscribed recipient")
CONTACT_AGE = timedelta(days=3 * 365)
"""How far back the oldest demo contact was created."""
