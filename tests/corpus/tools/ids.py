"""Synthetic identifier generators with valid (and deliberately broken) check digits.

Every value is computed from the published check algorithm with a seeded PRNG; none belongs
to a real person or account. Used by generate.py to build the corpus files.
"""
import random
import string

def luhn_ok(num: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(num)):
        v = int(ch)
        if i % 2:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return total % 10 == 0

def luhn_complete(prefix: str) -> str:
    for d in "0123456789":
        if luhn_ok(prefix + d):
            return prefix + d
    raise AssertionError

def card(rng, prefix, length):
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return luhn_complete(body)

def rrn(rng):
    yy = rng.randint(60, 99); mm = rng.randint(1, 12); dd = rng.randint(1, 28)
    body = f"{yy:02d}{mm:02d}{dd:02d}" + str(rng.choice([1, 2])) + "".join(rng.choice(string.digits) for _ in range(5))
    w = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    s = sum(int(c) * x for c, x in zip(body, w))
    return body + str((11 - s % 11) % 10)

def rrn_ok(v):
    d = v.replace("-", "")
    w = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    s = sum(int(c) * x for c, x in zip(d, w))
    return (11 - s % 11) % 10 == int(d[12])

def iban_ok(v):
    v = v.replace(" ", "")
    r = v[4:] + v[:4]
    n = "".join(str(int(c, 36)) for c in r)
    return int(n) % 97 == 1

def iban(rng, country, bban):
    r = bban + country + "00"
    n = "".join(str(int(c, 36)) for c in r)
    check = 98 - int(n) % 97
    return f"{country}{check:02d}{bban}"

def group4(v):
    return " ".join(v[i:i + 4] for i in range(0, len(v), 4))

def mynumber_check(d11):
    s = 0
    for n in range(1, 12):
        s += int(d11[11 - n]) * (n + 1 if n <= 6 else n - 5)
    r = s % 11
    return "0" if r <= 1 else str(11 - r)

def mynumber(rng):
    d = "".join(rng.choice(string.digits) for _ in range(11))
    return d + mynumber_check(d)

def nir(rng, corsica=None):
    sex = rng.choice("12"); yy = f"{rng.randint(40, 99):02d}"; mm = f"{rng.randint(1, 12):02d}"
    dept = corsica or f"{rng.randint(1, 95):02d}"
    commune = f"{rng.randint(1, 999):03d}"; order = f"{rng.randint(1, 999):03d}"
    body = sex + yy + mm + dept + commune + order
    num = int(body.replace("2A", "19").replace("2B", "18"))
    return body + f"{97 - num % 97:02d}"

def nir_grouped(v):
    return " ".join([v[0], v[1:3], v[3:5], v[5:7], v[7:10], v[10:13], v[13:15]])

DNI = "TRWAGMYFPDXBNJZSQVHLCKE"
def dni(rng):
    n = rng.randint(10000000, 99999999)
    return f"{n:08d}{DNI[n % 23]}"

def nie(rng):
    p = rng.choice("XYZ"); n = rng.randint(0, 9999999)
    return f"{p}{n:07d}{DNI[int(str('XYZ'.index(p)) + f'{n:07d}') % 23]}"

CF_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]))
def cf_even(c):
    return int(c) if c.isdigit() else ord(c) - 65
def cf_check(b15):
    s = sum(CF_ODD[c] if i % 2 == 0 else cf_even(c) for i, c in enumerate(b15))
    return chr(65 + s % 26)

def codice_fiscale(rng):
    L = string.ascii_uppercase
    b = "".join(rng.choice("BCDFGHLMNPRSTVZ") for _ in range(6)) + f"{rng.randint(40, 99):02d}" + rng.choice("ABCDEHLMPRST") + f"{rng.randint(1, 71):02d}" + rng.choice(L) + f"{rng.randint(1, 999):03d}"
    return b + cf_check(b)

ST = "JZIHGFEDCBA"; FG = "XWUTRQPNMLK"; M = "KLJNPQRTUWX"
def nric(rng, prefix):
    d = "".join(rng.choice(string.digits) for _ in range(7))
    s = sum(int(c) * w for c, w in zip(d, [2, 7, 6, 5, 4, 3, 2]))
    if prefix == "S": ch = ST[s % 11]
    elif prefix == "T": ch = ST[(s + 4) % 11]
    elif prefix == "F": ch = FG[s % 11]
    elif prefix == "G": ch = FG[(s + 4) % 11]
    else: ch = M[10 - (s + 3) % 11]
    return prefix + d + ch

VD = [[0,1,2,3,4,5,6,7,8,9],[1,2,3,4,0,6,7,8,9,5],[2,3,4,0,1,7,8,9,5,6],[3,4,0,1,2,8,9,5,6,7],[4,0,1,2,3,9,5,6,7,8],[5,9,8,7,6,0,4,3,2,1],[6,5,9,8,7,1,0,4,3,2],[7,6,5,9,8,2,1,0,4,3],[8,7,6,5,9,3,2,1,0,4],[9,8,7,6,5,4,3,2,1,0]]
VP = [[0,1,2,3,4,5,6,7,8,9],[1,5,7,6,2,8,3,0,9,4],[5,8,0,3,7,9,6,1,4,2],[8,9,1,6,0,4,3,5,2,7],[9,4,5,3,1,2,6,8,7,0],[4,2,8,6,5,7,3,9,0,1],[2,7,9,3,8,0,6,4,1,5],[7,0,4,6,9,1,3,2,5,8]]
VINV = [0,4,3,2,1,5,6,7,8,9]
def verhoeff_ok(num):
    c = 0
    for i, ch in enumerate(reversed(num)):
        c = VD[c][VP[i % 8][int(ch)]]
    return c == 0
def verhoeff_complete(body):
    c = 0
    for i, ch in enumerate(reversed(body)):
        c = VD[c][VP[(i + 1) % 8][int(ch)]]
    return body + str(VINV[c])

def aadhaar(rng):
    body = str(rng.randint(2, 9)) + "".join(rng.choice(string.digits) for _ in range(10))
    v = verhoeff_complete(body)
    assert verhoeff_ok(v)
    return v

def steuer_check(d10):
    product = 10
    for c in d10:
        s = (int(c) + product) % 10
        if s == 0: s = 10
        product = (s * 2) % 11
    c = 11 - product
    return "0" if c == 10 else str(c)

def steuer(rng):
    while True:
        digits = rng.sample("0123456789", 9)
        if digits[0] == "0":
            continue
        rep = rng.choice(digits)
        pos = rng.randint(1, 9)
        d10 = digits[:pos] + [rep] + digits[pos:]
        d10 = "".join(d10)
        from collections import Counter
        cnt = Counter(d10)
        if sorted(cnt.values(), reverse=True)[:2] != [2, 1]:
            continue
        return d10 + steuer_check(d10)

def bsn(rng):
    while True:
        d = [rng.randint(0, 9) for _ in range(8)]
        s = sum(v * (9 - i) for i, v in enumerate(d))
        last = s % 11
        if last <= 9:
            v = "".join(map(str, d)) + str(last)
            if v != "000000000":
                return v

def bsn_ok(v):
    d = [int(c) for c in v]
    return (sum(x * (9 - i) for i, x in enumerate(d[:8])) - d[8]) % 11 == 0

def nino(rng):
    first = "ABCEGHJKLMNOPRSTWXYZ"; second = "ABCEGHJKLMNPRSTWXYZ"
    while True:
        p = rng.choice(first) + rng.choice(second)
        if p not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
            break
    return p + "".join(rng.choice(string.digits) for _ in range(6)) + rng.choice("ABCD")

def ssn(rng):
    while True:
        a = rng.randint(1, 899)
        if a != 666:
            break
    return f"{a:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
