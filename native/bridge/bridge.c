/*
 * cvsr bridge: embeds CPython and drives cvsr.host.Host for vf_cvsr.
 * See native/include/cvsr/bridge.h for the contract.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cvsr/bridge.h"

/* FFmpeg's error codes, spelled out so that the bridge links without FFmpeg. */
#define ERR(e)        (-(e))
#define ERR_TAG(a, b, c, d) (-(int)((a) | ((b) << 8) | ((c) << 16) | ((unsigned)(d) << 24)))
#define ERR_EOF       ERR_TAG('E', 'O', 'F', ' ')
#define ERR_EXTERNAL  ERR_TAG('E', 'X', 'T', ' ')

struct CvsrBridge {
    PyObject *host;             ///< cvsr.host.Host
    CvsrBridgeLogFn log;
    void *log_opaque;
    int flushed;
    int pending;
};

static pthread_once_t py_once = PTHREAD_ONCE_INIT;
static int py_init_ret;
static char py_init_msg[PATH_MAX + 256];

static void bridge_log(const CvsrBridge *b, CvsrBridgeLogFn log, void *opaque,
                       int level, const char *fmt, ...)
{
    char msg[PATH_MAX + 512];
    va_list ap;

    if (b) {
        log    = b->log;
        opaque = b->log_opaque;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (log)
        log(opaque, level, msg);
    else
        fputs(msg, stderr);
}

static int is_file(const char *path)
{
    return access(path, F_OK) == 0;
}

/*
 * The virtual environment whose packages the interpreter uses: the one the
 * executable lives in (<venv>/bin/ffmpeg), else the one the bridge was built
 * for.  Returns 0 and fills venv, or -1 to use the system Python.
 */
static int find_venv(char *venv, size_t size)
{
    char exe[PATH_MAX], cfg[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n > 0) {
        char *slash;
        exe[n] = '\0';
        /* <venv>/bin/ffmpeg -> <venv> */
        for (int i = 0; i < 2 && (slash = strrchr(exe, '/')); i++)
            *slash = '\0';
        snprintf(cfg, sizeof(cfg), "%s/pyvenv.cfg", exe);
        if (exe[0] && is_file(cfg)) {
            snprintf(venv, size, "%s", exe);
            return 0;
        }
    }
#ifdef CVSR_DEFAULT_VENV
    snprintf(cfg, sizeof(cfg), "%s/pyvenv.cfg", CVSR_DEFAULT_VENV);
    if (is_file(cfg)) {
        snprintf(venv, size, "%s", CVSR_DEFAULT_VENV);
        return 0;
    }
#endif
    return -1;
}

static void py_init_once(void)
{
    char venv[PATH_MAX], python[PATH_MAX + 32];
    PyConfig config;
    PyStatus status;

    if (Py_IsInitialized())
        return;

    PyConfig_InitPythonConfig(&config);
    /* ffmpeg owns SIGINT and the command line. */
    config.install_signal_handlers = 0;
    config.parse_argv = 0;
    if (find_venv(venv, sizeof(venv)) == 0) {
        /* getpath finds <venv>/pyvenv.cfg next to the executable it is given,
         * and site then adds the environment's site-packages. */
        snprintf(python, sizeof(python), "%s/bin/python3", venv);
        status = PyConfig_SetBytesString(&config, &config.executable, python);
        if (PyStatus_Exception(status))
            goto fail;
    }
    status = Py_InitializeFromConfig(&config);
    if (PyStatus_Exception(status))
        goto fail;
    PyConfig_Clear(&config);
    /* Release the GIL taken by initialisation: every call takes it back with
     * PyGILState_Ensure(), from whichever thread runs the filter. */
    PyEval_SaveThread();
    return;
fail:
    snprintf(py_init_msg, sizeof(py_init_msg), "Python initialisation failed: %s%s%s\n",
             status.func ? status.func : "", status.func ? ": " : "",
             status.err_msg ? status.err_msg : "unknown error");
    PyConfig_Clear(&config);
    py_init_ret = ERR_EXTERNAL;
}

static int exception_is_oom(PyObject *type, PyObject *value)
{
    const char *name = ((PyTypeObject *)type)->tp_name;
    PyObject *str;
    int oom = 0;

    if (PyErr_GivenExceptionMatches(type, PyExc_MemoryError))
        return 1;
    /* torch.cuda.OutOfMemoryError (a RuntimeError), or a message saying so. */
    if (name && strstr(name, "OutOfMemoryError"))
        return 1;
    if (PyErr_GivenExceptionMatches(type, PyExc_RuntimeError) && value &&
        (str = PyObject_Str(value))) {
        const char *s = PyUnicode_AsUTF8(str);
        oom = s && (strstr(s, "out of memory") || strstr(s, "can't allocate memory"));
        Py_DECREF(str);
    }
    PyErr_Clear();
    return oom;
}

/* Log the pending Python exception, clear it and map it to an AVERROR code.
 * An expected failure (a ValueError, NotImplementedError, OSError or out of
 * memory: something the user can act on) is one line at error level and its
 * traceback at verbose level; anything else is a bug and its traceback is
 * logged at error level.  The GIL must be held. */
static int py_error(const CvsrBridge *b, CvsrBridgeLogFn log, void *opaque, const char *what)
{
    PyObject *type, *value, *tb, *mod = NULL, *lines = NULL, *text = NULL, *empty = NULL, *msg = NULL;
    int ret = ERR_EXTERNAL, expected = 1;

    PyErr_Fetch(&type, &value, &tb);
    if (!type)
        return ERR_EXTERNAL;
    PyErr_NormalizeException(&type, &value, &tb);

    if (PyErr_GivenExceptionMatches(type, PyExc_ValueError))
        ret = ERR(EINVAL);
    else if (PyErr_GivenExceptionMatches(type, PyExc_NotImplementedError))
        ret = ERR(ENOSYS);
    else if (exception_is_oom(type, value))
        ret = ERR(ENOMEM);
    else if (PyErr_GivenExceptionMatches(type, PyExc_OSError) && value) {
        PyObject *no = PyObject_GetAttrString(value, "errno");
        if (no && PyLong_Check(no) && PyLong_AsLong(no) > 0)
            ret = ERR((int)PyLong_AsLong(no));
        Py_XDECREF(no);
        PyErr_Clear();
    } else
        expected = 0;

    if (expected && value && (msg = PyObject_Str(value)))
        bridge_log(b, log, opaque, CVSR_BRIDGE_LOG_ERROR, "%s: %s\n", what, PyUnicode_AsUTF8(msg));
    else
        expected = 0;
    PyErr_Clear();

    if ((mod = PyImport_ImportModule("traceback")) &&
        (lines = PyObject_CallMethod(mod, "format_exception", "OOO", type,
                                     value ? value : Py_None, tb ? tb : Py_None)) &&
        (empty = PyUnicode_FromString("")) &&
        (text = PyUnicode_Join(empty, lines))) {
        bridge_log(b, log, opaque, expected ? CVSR_BRIDGE_LOG_VERBOSE : CVSR_BRIDGE_LOG_ERROR,
                   "%s failed:\n%s", what, PyUnicode_AsUTF8(text));
    } else if (!expected) {
        PyErr_Clear();
        bridge_log(b, log, opaque, CVSR_BRIDGE_LOG_ERROR,
                   "%s failed with %s (no traceback available)\n", what,
                   ((PyTypeObject *)type)->tp_name);
    }
    PyErr_Clear();
    Py_XDECREF(msg);
    Py_XDECREF(text);
    Py_XDECREF(empty);
    Py_XDECREF(lines);
    Py_XDECREF(mod);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return ret;
}

/* The host's log(level, message) callable: forwards to the C callback. */
typedef struct LogTarget {
    CvsrBridgeLogFn log;
    void *opaque;
} LogTarget;

static PyObject *py_log(PyObject *capsule, PyObject *args)
{
    LogTarget *t = PyCapsule_GetPointer(capsule, "cvsr.bridge.log");
    const char *msg;
    int level;

    if (!t || !PyArg_ParseTuple(args, "is", &level, &msg))
        return NULL;
    if (t->log)
        t->log(t->opaque, level, msg);
    Py_RETURN_NONE;
}

static PyMethodDef py_log_def = {
    "log", py_log, METH_VARARGS, "log(level, message): forward to av_log",
};

static void log_target_free(PyObject *capsule)
{
    PyMem_Free(PyCapsule_GetPointer(capsule, "cvsr.bridge.log"));
}

static PyObject *make_log_callable(CvsrBridgeLogFn log, void *opaque)
{
    LogTarget *t = PyMem_Malloc(sizeof(*t));
    PyObject *capsule, *fn;

    if (!t)
        return PyErr_NoMemory();
    t->log    = log;
    t->opaque = opaque;
    capsule = PyCapsule_New(t, "cvsr.bridge.log", log_target_free);
    if (!capsule) {
        PyMem_Free(t);
        return NULL;
    }
    fn = PyCFunction_New(&py_log_def, capsule);
    Py_DECREF(capsule);
    return fn;
}

/* kwargs[key] = value; a NULL value is left out, so the host's default applies (defaults live in Python). */
static int set_option(PyObject *kwargs, const char *key, const char *value)
{
    PyObject *str;
    int ret;

    if (!value)
        return 0;
    if (!(str = PyUnicode_FromString(value)))
        return -1;
    ret = PyDict_SetItemString(kwargs, key, str);
    Py_DECREF(str);
    return ret;
}

int cvsr_bridge_version(void)
{
    return CVSR_BRIDGE_VERSION;
}

int cvsr_bridge_open(CvsrBridge **bridge, const CvsrBridgeOptions *opts,
                     CvsrBridgeLogFn log, void *log_opaque, int *scale)
{
    PyGILState_STATE gil;
    PyObject *mod = NULL, *cls = NULL, *kwargs = NULL, *args = NULL, *logfn = NULL, *val;
    CvsrBridge *b;
    int ret = 0;

    *bridge = NULL;
    pthread_once(&py_once, py_init_once);
    if (py_init_ret < 0) {
        bridge_log(NULL, log, log_opaque, CVSR_BRIDGE_LOG_ERROR, "%s", py_init_msg);
        return py_init_ret;
    }
    b = calloc(1, sizeof(*b));
    if (!b)
        return ERR(ENOMEM);
    b->log        = log;
    b->log_opaque = log_opaque;

    gil = PyGILState_Ensure();
    if (!(mod    = PyImport_ImportModule("cvsr.host")) ||
        !(cls    = PyObject_GetAttrString(mod, "Host")) ||
        !(logfn  = make_log_callable(log, log_opaque)) ||
        !(args   = PyTuple_New(0)) ||
        !(kwargs = Py_BuildValue("{s:i,s:O,s:O}",
                                 "threads", opts->threads,
                                 "align", opts->align ? Py_True : Py_False,
                                 "log", logfn)) ||
        set_option(kwargs, "model", opts->model) < 0 ||
        set_option(kwargs, "device", opts->device) < 0 ||
        set_option(kwargs, "sparse", opts->sparse) < 0 ||
        set_option(kwargs, "precision", opts->precision) < 0 ||
        set_option(kwargs, "backend", opts->backend) < 0 ||
        !(b->host = PyObject_Call(cls, args, kwargs))) {
        ret = py_error(b, NULL, NULL, "loading the cvsr host");
        goto fail;
    }
    if (!(val = PyObject_GetAttrString(b->host, "scale"))) {
        ret = py_error(b, NULL, NULL, "reading the model scale");
        goto fail;
    }
    *scale = (int)PyLong_AsLong(val);
    Py_DECREF(val);
    if (*scale <= 0) {
        PyErr_Clear();
        bridge_log(b, NULL, NULL, CVSR_BRIDGE_LOG_ERROR, "cvsr host reported an invalid scale\n");
        ret = ERR_EXTERNAL;
        goto fail;
    }

fail:
    Py_XDECREF(kwargs);
    Py_XDECREF(args);
    Py_XDECREF(logfn);
    Py_XDECREF(cls);
    Py_XDECREF(mod);
    if (ret < 0) {
        Py_CLEAR(b->host);
        free(b);
    } else {
        *bridge = b;
    }
    PyGILState_Release(gil);
    return ret;
}

/* A read-only memoryview over caller memory, valid until released. */
static PyObject *view(const void *data, Py_ssize_t size)
{
    return PyMemoryView_FromMemory((char *)data, size, PyBUF_READ);
}

/* Release a view handed to the host: fails (BufferError) if the host kept a
 * reference to the caller's memory past the call. */
static int release_view(PyObject *mv)
{
    PyObject *r;

    if (!mv || mv == Py_None)
        return 0;
    r = PyObject_CallMethod(mv, "release", NULL);
    if (!r)
        return -1;
    Py_DECREF(r);
    return 0;
}

int cvsr_bridge_send_frame(CvsrBridge *b, const CvsrBridgeFrame *in)
{
    PyGILState_STATE gil;
    PyObject *planes[3] = { NULL }, *info = NULL, *r = NULL;
    int ret = 0;

    if (b->flushed)
        return ERR_EOF;
    gil = PyGILState_Ensure();
    for (int p = 0; p < 3; p++) {
        int h = p ? (in->height + 1) >> 1 : in->height;
        if (!(planes[p] = view(in->data[p], (Py_ssize_t)in->linesize[p] * h)))
            goto py_fail;
    }
    if (in->codec_info && in->codec_info_size)
        info = view(in->codec_info, (Py_ssize_t)in->codec_info_size);
    else
        info = Py_NewRef(Py_None);
    if (!info)
        goto py_fail;
    r = PyObject_CallMethod(b->host, "send", "(OOO)(iii)iiLO",
                            planes[0], planes[1], planes[2],
                            in->linesize[0], in->linesize[1], in->linesize[2],
                            in->width, in->height, (long long)in->pts, info);
    if (!r)
        goto py_fail;
    for (int p = 0; p < 3; p++)
        if (release_view(planes[p]) < 0)
            goto py_fail;
    if (release_view(info) < 0)
        goto py_fail;
    b->pending++;
    goto end;
py_fail:
    ret = py_error(b, NULL, NULL, "cvsr host send");
end:
    Py_XDECREF(r);
    Py_XDECREF(info);
    for (int p = 0; p < 3; p++)
        Py_XDECREF(planes[p]);
    PyGILState_Release(gil);
    return ret;
}

int cvsr_bridge_flush(CvsrBridge *b)
{
    PyGILState_STATE gil;
    PyObject *r;
    int ret = 0;

    if (b->flushed)
        return 0;
    b->flushed = 1;
    gil = PyGILState_Ensure();
    if (!(r = PyObject_CallMethod(b->host, "flush", NULL)))
        ret = py_error(b, NULL, NULL, "cvsr host flush");
    Py_XDECREF(r);
    PyGILState_Release(gil);
    return ret;
}

/* Copy a C-contiguous uint8 (rows, cols) array into a plane with a linesize. */
static int copy_plane(CvsrBridge *b, PyObject *src, uint8_t *dst, int linesize,
                      int width, int height)
{
    Py_buffer buf;
    int ret = 0;

    if (PyObject_GetBuffer(src, &buf, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_ND) < 0)
        return py_error(b, NULL, NULL, "cvsr host output");
    if (buf.ndim != 2 || buf.itemsize != 1 || buf.shape[0] != height || buf.shape[1] != width) {
        bridge_log(b, NULL, NULL, CVSR_BRIDGE_LOG_ERROR,
                   "cvsr host returned a %dx%d plane of %d-byte samples, expected %dx%d uint8\n",
                   buf.ndim == 2 ? (int)buf.shape[1] : -1, buf.ndim == 2 ? (int)buf.shape[0] : -1,
                   (int)buf.itemsize, width, height);
        ret = ERR_EXTERNAL;
    } else {
        for (int y = 0; y < height; y++)
            memcpy(dst + (size_t)y * linesize, (const uint8_t *)buf.buf + (size_t)y * width, width);
    }
    PyBuffer_Release(&buf);
    return ret;
}

int cvsr_bridge_receive_frame(CvsrBridge *b, CvsrBridgeFrame *out)
{
    PyGILState_STATE gil;
    PyObject *r;
    long long pts;
    PyObject *y, *u, *v;
    int ret = 0;

    gil = PyGILState_Ensure();
    r = PyObject_CallMethod(b->host, "receive", NULL);
    if (!r) {
        ret = py_error(b, NULL, NULL, "cvsr host receive");
    } else if (r == Py_None) {
        ret = b->flushed ? ERR_EOF : ERR(EAGAIN);
    } else if (!PyArg_ParseTuple(r, "LOOO", &pts, &y, &u, &v)) {
        ret = py_error(b, NULL, NULL, "cvsr host receive (result)");
    } else {
        int cw = (out->width + 1) >> 1, ch = (out->height + 1) >> 1;
        if ((ret = copy_plane(b, y, out->data[0], out->linesize[0], out->width, out->height)) >= 0 &&
            (ret = copy_plane(b, u, out->data[1], out->linesize[1], cw, ch)) >= 0 &&
            (ret = copy_plane(b, v, out->data[2], out->linesize[2], cw, ch)) >= 0) {
            out->pts = pts;
            b->pending--;
        }
    }
    Py_XDECREF(r);
    PyGILState_Release(gil);
    return ret;
}

void cvsr_bridge_close(CvsrBridge **bridge)
{
    CvsrBridge *b = *bridge;
    PyGILState_STATE gil;

    if (!b)
        return;
    if (b->host) {
        PyObject *r;
        gil = PyGILState_Ensure();
        /* close() only reports statistics: a failure there is not worth more than a warning. */
        if (!(r = PyObject_CallMethod(b->host, "close", NULL))) {
            PyErr_Clear();
            bridge_log(b, NULL, NULL, CVSR_BRIDGE_LOG_WARNING, "cvsr host close failed\n");
        }
        Py_XDECREF(r);
        Py_CLEAR(b->host);
        PyGILState_Release(gil);
    }
    free(b);
    *bridge = NULL;
}
