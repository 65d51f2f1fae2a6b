/* integrations.ingest._speedups: the ingest's per-record arithmetic in C, each function the exact twin of Python code.
 *
 * Every record ingested gets a keyed pseudonym for each personal identifier, a canonical JSON text of its
 * attributes, a SHA-256 content hash and its UTC time text. In Python those cost about 4 of the 6.4 µs a
 * record spends in the compiled mapping, mostly in interpreter overhead around C calls (hashlib, orjson).
 * Here each is one call. The twins, and the tests that compare them on generated input:
 *
 *   canonical_and_hash  integrations.store.prepared.canonical_json + hash_content   tests/integrations/ingest/test_speedups.py
 *   Pseudonymiser       domain.privacy.pseudonymiser
 *   times_of            datetime.timestamp + integrations.store.prepared.utc_text
 *   text_refused        domain.kinds.has_bad_text (a NUL or a lone surrogate: text no store keeps)
 *
 * Each handles the common case only and answers None (or calls the Python fallback it was given) for
 * anything else, so every rare case — a nested value, a lone surrogate, a zone with DST, a year outside
 * 1970-2099 — keeps exactly the Python behaviour, errors included. SHA-256 is OpenSSL's (libcrypto,
 * which Python's hashlib uses too), through its one-block API: no algorithm lookup per call.
 * The GIL is held throughout; no Python code runs inside (only exact str, int and float objects are
 * touched), so nothing here can re-enter.
 */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co.: deprecated in 3.0, kept, and the fastest way */
#include <Python.h>
#include <datetime.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>

/* Bumped whenever a function's behaviour changes: integrations/ingest/speedups.py ignores a stale build. */
#define SPEEDUPS_VERSION 2
#define MAX_KEYS 64

/* ---- a growable byte buffer, on the stack while small ---- */

typedef struct {
    char *p;
    Py_ssize_t len, cap;
    char local[1024];
} Buf;

static void buf_init(Buf *b) { b->p = b->local; b->len = 0; b->cap = sizeof b->local; }
static void buf_free(Buf *b) { if (b->p != b->local) PyMem_Free(b->p); }

static int buf_reserve(Buf *b, Py_ssize_t more) {
    if (b->len + more <= b->cap) return 0;
    Py_ssize_t cap = b->cap;
    while (cap < b->len + more) cap *= 2;
    char *p = PyMem_Malloc(cap);
    if (p == NULL) { PyErr_NoMemory(); return -1; }
    memcpy(p, b->p, b->len);
    if (b->p != b->local) PyMem_Free(b->p);
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_put(Buf *b, const char *s, Py_ssize_t n) {
    if (buf_reserve(b, n) < 0) return -1;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

/* ---- canonical JSON (json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":"))) ---- */

/* A JSON string as json's encoder writes it with ensure_ascii=False: only '"', '\\' and the control
 * characters are escaped; \u escapes in lower-case hex. 1: not handled here (a lone surrogate). */
static int put_string(Buf *b, PyObject *s) {
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (u == NULL) { PyErr_Clear(); return 1; }
    if (buf_reserve(b, 2 + 6 * n) < 0) return -1;
    char *o = b->p + b->len;
    static const char hex[] = "0123456789abcdef";
    *o++ = '"';
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c >= 0x20 && c != '"' && c != '\\') { *o++ = (char)c; continue; }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        default:
            *o++ = 'u'; *o++ = '0'; *o++ = '0'; *o++ = hex[c >> 4]; *o++ = hex[c & 15];
        }
    }
    *o++ = '"';
    b->len = o - b->p;
    return 0;
}

/* float.__repr__, which json uses for finite floats. 1: not finite (json writes NaN/Infinity). */
static int put_float(Buf *b, double v) {
    if (!Py_IS_FINITE(v)) return 1;
    char *r = PyOS_double_to_string(v, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (r == NULL) return -1;
    int rc = buf_put(b, r, (Py_ssize_t)strlen(r));
    PyMem_Free(r);
    return rc;
}

static int put_value(Buf *b, PyObject *v) {
    if (PyUnicode_CheckExact(v)) return put_string(b, v);
    if (v == Py_None) return buf_put(b, "null", 4);
    if (v == Py_True) return buf_put(b, "true", 4);
    if (v == Py_False) return buf_put(b, "false", 5);
    if (PyLong_CheckExact(v)) {
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (!overflow) {
            char tmp[24];
            int n = snprintf(tmp, sizeof tmp, "%lld", x);
            return buf_put(b, tmp, n);
        }
        PyObject *r = PyObject_Str(v); /* int.__repr__ == int.__str__, digits only */
        if (r == NULL) return -1;
        Py_ssize_t n;
        const char *u = PyUnicode_AsUTF8AndSize(r, &n);
        int rc = u == NULL ? -1 : buf_put(b, u, n);
        Py_DECREF(r);
        return rc;
    }
    if (PyFloat_CheckExact(v)) return put_float(b, PyFloat_AS_DOUBLE(v));
    return 1; /* lists, dicts, dates, subclasses: the Python encoder's business */
}

/* Writes the canonical text of `attrs` into b. 0: done; 1: not handled here; -1: error set. */
static int put_attributes(Buf *b, PyObject *attrs) {
    Py_ssize_t n = PyDict_GET_SIZE(attrs), pos = 0, i = 0;
    PyObject *keys[MAX_KEYS], *values[MAX_KEYS], *k, *v;
    if (n > MAX_KEYS) return 1;
    while (PyDict_Next(attrs, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k)) return 1;
        /* insertion sort by code point, as sorted() orders str keys (a record has a handful) */
        Py_ssize_t j = i++;
        while (j > 0 && PyUnicode_Compare(keys[j - 1], k) > 0) {
            keys[j] = keys[j - 1];
            values[j] = values[j - 1];
            j--;
        }
        keys[j] = k;
        values[j] = v;
    }
    if (buf_put(b, "{", 1) < 0) return -1;
    for (i = 0; i < n; i++) {
        int rc;
        if (i && buf_put(b, ",", 1) < 0) return -1;
        if ((rc = put_string(b, keys[i])) != 0) return rc;
        if (buf_put(b, ":", 1) < 0) return -1;
        if ((rc = put_value(b, values[i])) != 0) return rc;
    }
    return buf_put(b, "}", 1);
}

static PyObject *hex_str(const unsigned char *d, Py_ssize_t n, const char *prefix, Py_ssize_t plen) {
    static const char hex[] = "0123456789abcdef";
    PyObject *s = PyUnicode_New(plen + 2 * n, 127);
    if (s == NULL) return NULL;
    Py_UCS1 *o = PyUnicode_1BYTE_DATA(s);
    memcpy(o, prefix, plen);
    o += plen;
    for (Py_ssize_t i = 0; i < n; i++) {
        *o++ = hex[d[i] >> 4];
        *o++ = hex[d[i] & 15];
    }
    return s;
}

static PyObject *canonical_and_hash(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "canonical_and_hash(kind, at_timestamp, region, attributes)");
        return NULL;
    }
    PyObject *kind = args[0], *ts = args[1], *region = args[2], *attrs = args[3];
    if (!PyUnicode_CheckExact(kind) || !PyFloat_CheckExact(ts) || !PyUnicode_CheckExact(region) ||
        !PyDict_CheckExact(attrs))
        Py_RETURN_NONE;
    Py_ssize_t nk, nr;
    const char *k = PyUnicode_AsUTF8AndSize(kind, &nk), *r = PyUnicode_AsUTF8AndSize(region, &nr);
    if (k == NULL || r == NULL) { PyErr_Clear(); Py_RETURN_NONE; }

    Buf b;
    buf_init(&b);
    int rc = put_attributes(&b, attrs);
    if (rc != 0) {
        buf_free(&b);
        if (rc < 0) return NULL;
        Py_RETURN_NONE;
    }
    /* The hashed form (integrations.store.prepared._content_digest): kind, repr(time), region, text, 0x1F between. */
    char *t = PyOS_double_to_string(PyFloat_AS_DOUBLE(ts), 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (t == NULL) { buf_free(&b); return NULL; }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, k, nk);
    SHA256_Update(&c, "\x1f", 1);
    SHA256_Update(&c, t, strlen(t));
    SHA256_Update(&c, "\x1f", 1);
    SHA256_Update(&c, r, nr);
    SHA256_Update(&c, "\x1f", 1);
    SHA256_Update(&c, b.p, b.len);
    SHA256_Final(digest, &c);
    PyMem_Free(t);

    PyObject *text = PyUnicode_DecodeUTF8(b.p, b.len, "strict");
    buf_free(&b);
    if (text == NULL) return NULL;
    PyObject *h = hex_str(digest, SHA256_DIGEST_LENGTH, "", 0);
    if (h == NULL) { Py_DECREF(text); return NULL; }
    PyObject *out = PyTuple_Pack(2, text, h);
    Py_DECREF(text);
    Py_DECREF(h);
    return out;
}

/* ---- keyed pseudonyms (domain.privacy: "p_" + 20 hex digits of HMAC-SHA256) ---- */

typedef struct {
    PyObject_HEAD
    SHA256_CTX inner, outer; /* the key's pads absorbed once (RFC 2104) */
    PyObject *fallback;
} Pseudonymiser;

static int pseudonymiser_init(Pseudonymiser *self, PyObject *args, PyObject *kw) {
    Py_buffer key;
    PyObject *fallback;
    static char *names[] = {"key", "fallback", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "y*O:Pseudonymiser", names, &key, &fallback)) return -1;
    unsigned char block[64] = {0}, pad[64];
    if (key.len > 64) {
        SHA256((const unsigned char *)key.buf, key.len, block);
    } else {
        memcpy(block, key.buf, key.len);
    }
    PyBuffer_Release(&key);
    for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x36;
    SHA256_Init(&self->inner);
    SHA256_Update(&self->inner, pad, 64);
    for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&self->outer);
    SHA256_Update(&self->outer, pad, 64);
    Py_INCREF(fallback);
    Py_XSETREF(self->fallback, fallback);
    return 0;
}

/* The pseudonym of an ASCII letters-and-digits identifier (its normal form is its upper case, and it
 * cannot already be a pseudonym); anything else goes to the Python fallback, which knows the rest. */
static PyObject *pseudonymiser_call(Pseudonymiser *self, PyObject *args, PyObject *kw) {
    PyObject *value;
    if (kw != NULL || !PyArg_UnpackTuple(args, "Pseudonymiser", 1, 1, &value)) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "Pseudonymiser takes one argument");
        return NULL;
    }
    if (PyUnicode_CheckExact(value) && PyUnicode_IS_ASCII(value)) {
        Py_ssize_t n = PyUnicode_GET_LENGTH(value);
        const Py_UCS1 *s = PyUnicode_1BYTE_DATA(value);
        unsigned char up[128];
        int ok = n > 0 && n <= (Py_ssize_t)sizeof up;
        for (Py_ssize_t i = 0; ok && i < n; i++) {
            unsigned char c = s[i];
            if (c >= 'a' && c <= 'z') up[i] = (unsigned char)(c - 32);
            else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) up[i] = c;
            else ok = 0;
        }
        if (ok) {
            unsigned char d[SHA256_DIGEST_LENGTH];
            SHA256_CTX c = self->inner;
            SHA256_Update(&c, up, n);
            SHA256_Final(d, &c);
            c = self->outer;
            SHA256_Update(&c, d, sizeof d);
            SHA256_Final(d, &c);
            return hex_str(d, 10, "p_", 2);
        }
    }
    return PyObject_CallOneArg(self->fallback, value);
}

static int pseudonymiser_traverse(Pseudonymiser *self, visitproc visit, void *arg) {
    Py_VISIT(self->fallback);
    return 0;
}

static int pseudonymiser_clear(Pseudonymiser *self) {
    Py_CLEAR(self->fallback);
    return 0;
}

static void pseudonymiser_dealloc(Pseudonymiser *self) {
    PyObject_GC_UnTrack(self);
    pseudonymiser_clear(self);
    OPENSSL_cleanse(&self->inner, sizeof self->inner);
    OPENSSL_cleanse(&self->outer, sizeof self->outer);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject PseudonymiserType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "integrations.ingest._speedups.Pseudonymiser",
    .tp_doc = PyDoc_STR("Pseudonymiser(key, fallback): the keyed pseudonym of a string (see domain.privacy)."),
    .tp_basicsize = sizeof(Pseudonymiser),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)pseudonymiser_init,
    .tp_call = (ternaryfunc)pseudonymiser_call,
    .tp_traverse = (traverseproc)pseudonymiser_traverse,
    .tp_clear = (inquiry)pseudonymiser_clear,
    .tp_dealloc = (destructor)pseudonymiser_dealloc,
};

/* ---- event times: at.timestamp() and the UTC text SQLite stores ---- */

static PyObject *timezone_type; /* datetime.timezone: fixed offsets, what ISO times with an offset carry */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static long long days_from_civil(long long y, unsigned m, unsigned d) {
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, int *y, unsigned *m, unsigned *d) {
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static void put_digits(char *o, long long v, int n) {
    for (int i = n - 1; i >= 0; i--, v /= 10) o[i] = (char)('0' + v % 10);
}

#define US_PER_DAY 86400000000LL
#define US_1970 0LL
#define US_2100 (4102444800LL * 1000000LL)

/* (at.timestamp(), utc_text(at)) for a datetime with a fixed-offset timezone between 1970 and 2099;
 * None for any other (a zone with rules, naive, or out of that range: the Python code decides). */
static PyObject *times_of(PyObject *self, PyObject *at) {
    if (!PyDateTime_CheckExact(at)) Py_RETURN_NONE;
    PyObject *tz = ((PyDateTime_DateTime *)at)->hastzinfo ? ((PyDateTime_DateTime *)at)->tzinfo : NULL;
    if (tz == NULL || (PyObject *)Py_TYPE(tz) != timezone_type) Py_RETURN_NONE;
    PyObject *off = PyObject_CallMethod(tz, "utcoffset", "O", Py_None);
    if (off == NULL) return NULL;
    if (!PyDelta_Check(off)) { Py_DECREF(off); Py_RETURN_NONE; }
    long long off_us = ((long long)PyDateTime_DELTA_GET_DAYS(off) * 86400 + PyDateTime_DELTA_GET_SECONDS(off)) *
                           1000000LL + PyDateTime_DELTA_GET_MICROSECONDS(off);
    Py_DECREF(off);
    long long days = days_from_civil(PyDateTime_GET_YEAR(at), PyDateTime_GET_MONTH(at), PyDateTime_GET_DAY(at));
    long long us = days * US_PER_DAY +
                   ((long long)PyDateTime_DATE_GET_HOUR(at) * 3600 + PyDateTime_DATE_GET_MINUTE(at) * 60 +
                    PyDateTime_DATE_GET_SECOND(at)) * 1000000LL +
                   PyDateTime_DATE_GET_MICROSECOND(at) - off_us;
    if (us < US_1970 || us >= US_2100) Py_RETURN_NONE;
    /* Python divides the microseconds (an int below 2**53, so exact as a double) by 10**6, correctly
     * rounded: one IEEE division gives the same double. */
    double ts = (double)us / 1e6;
    long long day = us / US_PER_DAY, rest = us % US_PER_DAY;
    int y;
    unsigned mo, d;
    civil_from_days(day, &y, &mo, &d);
    long long secs = rest / 1000000, micro = rest % 1000000;
    /* "YYYY-MM-DD HH:MM:SS.ffffff", digit by digit (snprintf costs more than the rest together) */
    char text[26];
    put_digits(text, y, 4);
    text[4] = '-';
    put_digits(text + 5, mo, 2);
    text[7] = '-';
    put_digits(text + 8, d, 2);
    text[10] = ' ';
    put_digits(text + 11, secs / 3600, 2);
    text[13] = ':';
    put_digits(text + 14, secs / 60 % 60, 2);
    text[16] = ':';
    put_digits(text + 17, secs % 60, 2);
    text[19] = '.';
    put_digits(text + 20, micro, 6);
    return Py_BuildValue("(ds#)", ts, text, (Py_ssize_t)sizeof text);
}

/* ---- text_refused: domain.kinds.has_bad_text ---- */

/* Whether a str holds a NUL or a surrogate code point (U+D800-U+DFFF): what has_bad_text's regex finds.
 * Walks the string's own storage: one byte per character cannot hold a surrogate, so only NUL is
 * looked for there (memchr); two and four bytes per character are tested unit by unit. Anything not
 * a str answers None (the Python reference raises its own error for it). */
static PyObject *text_refused(PyObject *self, PyObject *text) {
    if (!PyUnicode_Check(text)) Py_RETURN_NONE;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const void *data = PyUnicode_DATA(text);
    int bad = 0;
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        bad = memchr(data, 0, (size_t)n) != NULL;
        break;
    case PyUnicode_2BYTE_KIND: {
        const Py_UCS2 *u = data;
        for (Py_ssize_t i = 0; i < n && !bad; i++) bad = u[i] == 0 || (u[i] >= 0xD800 && u[i] <= 0xDFFF);
        break;
    }
    default: {
        const Py_UCS4 *u = data;
        for (Py_ssize_t i = 0; i < n && !bad; i++) bad = u[i] == 0 || (u[i] >= 0xD800 && u[i] <= 0xDFFF);
        break;
    }
    }
    return PyBool_FromLong(bad);
}

static PyMethodDef methods[] = {
    {"canonical_and_hash", (PyCFunction)(void (*)(void))canonical_and_hash, METH_FASTCALL,
     "canonical_and_hash(kind, at_timestamp, region, attributes) -> (text, hash) or None "
     "(see integrations.store.prepared.canonical_json and hash_content)."},
    {"times_of", times_of, METH_O,
     "times_of(at) -> (at.timestamp(), utc_text(at)) for a fixed-offset time in 1970-2099, else None."},
    {"text_refused", text_refused, METH_O,
     "text_refused(text) -> domain.kinds.has_bad_text(text) for a str (a NUL or a lone surrogate), else None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "integrations.ingest._speedups",
    "The ingest's per-record arithmetic in C (see integrations/ingest/speedups.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) return NULL;
    timezone_type = (PyObject *)Py_TYPE(PyDateTime_TimeZone_UTC);
    if (PyType_Ready(&PseudonymiserType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&PseudonymiserType);
    if (PyModule_AddObject(m, "Pseudonymiser", (PyObject *)&PseudonymiserType) < 0 ||
        PyModule_AddIntConstant(m, "VERSION", SPEEDUPS_VERSION) < 0) {
        Py_DECREF(&PseudonymiserType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
