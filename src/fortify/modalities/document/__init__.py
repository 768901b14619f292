"""Identity documents: ICAO 9303 MRZ (passports, ID cards, visas) and AAMVA PDF417 licences."""
