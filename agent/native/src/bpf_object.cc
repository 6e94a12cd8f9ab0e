// Node-API addon: loads a CO-RE BPF object program by program, attaches what loads, and
// drains its ring buffers on a native thread into batched, zero-copy Buffers.
//
// Batch format handed to JS: concatenated [u32 little-endian length][record bytes].
#include <napi.h>

#include "netlink.h"

#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <errno.h>

extern "C" {
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
}

namespace {

constexpr size_t kBatchFlushBytes = 256 * 1024;
constexpr int kPollTimeoutMs = 10;
constexpr auto kBatchFlushInterval = std::chrono::milliseconds(10);
constexpr size_t kTsfnQueue = 16;

// ---------- libbpf log capture (libbpf's print hook is process-global) ----------

std::mutex g_log_mutex;
std::string* g_log_sink = nullptr;  // non-null while a load/attach is being recorded

int CaptureLibbpfLog(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[2048];
  int n = vsnprintf(buf, sizeof(buf), fmt, args);
  std::lock_guard<std::mutex> lock(g_log_mutex);
  if (g_log_sink != nullptr && g_log_sink->size() < (1 << 20)) g_log_sink->append(buf);
  return n;
}

class LogCapture {
 public:
  LogCapture() {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    g_log_sink = &text_;
  }
  ~LogCapture() {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    g_log_sink = nullptr;
  }
  std::string Take() {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    std::string out;
    out.swap(text_);
    return out;
  }

 private:
  std::string text_;
};

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The useful part of a libbpf log for one program: its own lines plus the tail of the
// verifier log, bounded so an error string stays readable.
std::string SummarizeLog(const std::string& log, const std::string& prog) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < log.size()) {
    size_t nl = log.find('\n', pos);
    if (nl == std::string::npos) nl = log.size();
    std::string line = Trim(log.substr(pos, nl - pos));
    if (!line.empty()) lines.push_back(line);
    pos = nl + 1;
  }
  std::string tag = "prog '" + prog + "'";
  std::string own;
  std::vector<std::string> verifier;
  bool in_verifier = false;
  for (const auto& l : lines) {
    if (l.find("-- BEGIN PROG LOAD LOG --") != std::string::npos) { in_verifier = true; verifier.clear(); continue; }
    if (l.find("-- END PROG LOAD LOG --") != std::string::npos) { in_verifier = false; continue; }
    if (in_verifier) { verifier.push_back(l); continue; }
    if (l.find(tag) != std::string::npos || prog.empty()) {
      if (!own.empty()) own += "; ";
      own += l;
    }
  }
  if (!verifier.empty()) {
    std::string tail;
    size_t start = verifier.size() > 4 ? verifier.size() - 4 : 0;
    for (size_t i = start; i < verifier.size(); i++) {
      if (!tail.empty()) tail += " | ";
      tail += verifier[i];
    }
    own += (own.empty() ? "" : "; ") + std::string("verifier: ") + tail;
  }
  if (own.size() > 2000) own = own.substr(0, 2000) + "...";
  return own;
}

std::string ErrnoText(int err) {
  if (err < 0) err = -err;
  char buf[128];
  snprintf(buf, sizeof(buf), "%s (errno %d)", strerror(err), err);
  return buf;
}

struct ProgramStatus {
  std::string name;
  std::string section;
  bool loaded = false;
  bool attached = false;
  // SEC("uprobe")/SEC("uretprobe") without a target: attached later, per binary, by attachUprobe().
  bool manual = false;
  int attachments = 0;
  std::string error;
};

bool IsManualUprobe(const std::string& section) { return section == "uprobe" || section == "uretprobe"; }

// One pending batch: malloc'd so ownership passes to a JS Buffer without a copy.
struct Batch {
  uint8_t* data = nullptr;
  size_t size = 0;
  size_t capacity = 0;
};

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "BpfObject", {
        InstanceMethod<&BpfObject::Programs>("programs"),
        InstanceMethod<&BpfObject::StartPolling>("startPolling"),
        InstanceMethod<&BpfObject::ReadCounters>("readCounters"),
        InstanceMethod<&BpfObject::AttachUprobe>("attachUprobe"),
        InstanceMethod<&BpfObject::Close>("close"),
    });
    exports.Set("BpfObject", ctor);
    return exports;
  }

  // new BpfObject(path: string, options?: { disabledPrograms?: string[] })
  // Opens, loads (program by program) and attaches. Throws only when the object file itself
  // cannot be opened; per-program failures are reported by programs().
  explicit BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) {
      Napi::TypeError::New(env, "BpfObject(path): path must be a string").ThrowAsJavaScriptException();
      return;
    }
    path_ = info[0].As<Napi::String>().Utf8Value();
    std::set<std::string> disabled;
    if (info.Length() > 1 && info[1].IsObject()) {
      Napi::Value d = info[1].As<Napi::Object>().Get("disabledPrograms");
      if (d.IsArray()) {
        Napi::Array arr = d.As<Napi::Array>();
        for (uint32_t i = 0; i < arr.Length(); i++) {
          Napi::Value v = arr.Get(i);
          if (v.IsString()) disabled.insert(v.As<Napi::String>().Utf8Value());
        }
      }
    }
    std::string err;
    if (!OpenLoadAttach(disabled, &err)) {
      Napi::Error::New(env, err).ThrowAsJavaScriptException();
      return;
    }
  }

  ~BpfObject() override { Shutdown(); }

 private:
  bool OpenObject(std::string* err) {
    LogCapture cap;
    obj_ = bpf_object__open_file(path_.c_str(), nullptr);
    if (obj_ == nullptr) {
      int e = errno;
      std::string log = SummarizeLog(cap.Take(), "");
      *err = "cannot open BPF object " + path_ + ": " + ErrnoText(e) + (log.empty() ? "" : " (" + log + ")");
      return false;
    }
    return true;
  }

  // libbpf 1.1 loads an object at most once and stops at the first program that fails, so:
  // load; if a program failed, blame it, reopen with it disabled, and retry.
  bool OpenLoadAttach(const std::set<std::string>& disabled_by_caller, std::string* err) {
    std::set<std::string> disabled = disabled_by_caller;
    std::vector<ProgramStatus> failed;  // programs that failed to load, with their errors
    for (int attempt = 0; attempt < 64; attempt++) {
      if (!OpenObject(err)) return false;
      struct bpf_program* prog;
      bpf_object__for_each_program(prog, obj_) {
        if (disabled.count(bpf_program__name(prog))) bpf_program__set_autoload(prog, false);
      }
      LogCapture cap;
      int rc = bpf_object__load(obj_);
      std::string log = cap.Take();
      if (rc == 0) break;

      // A failed load unloads every program, so fds tell nothing: the culprit is the last
      // enabled program the log names ("prog 'x': failed to load: ...").
      std::string culprit;
      size_t best = std::string::npos;
      bpf_object__for_each_program(prog, obj_) {
        if (!bpf_program__autoload(prog)) continue;
        std::string name = bpf_program__name(prog);
        size_t at = log.rfind("prog '" + name + "'");
        if (at != std::string::npos && (best == std::string::npos || at > best)) {
          best = at;
          culprit = name;
        }
      }
      if (culprit.empty()) {
        // Not a program's fault (maps, BTF, ...): every enabled program fails with it.
        std::string why = "object load failed: " + ErrnoText(rc);
        std::string summary = SummarizeLog(log, "");
        if (!summary.empty()) why += ": " + summary;
        bpf_object__for_each_program(prog, obj_) {
          ProgramStatus st;
          st.name = bpf_program__name(prog);
          st.section = bpf_program__section_name(prog);
          st.error = disabled_by_caller.count(st.name) ? "disabled" : why;
          for (const auto& f : failed) if (f.name == st.name) st.error = f.error;
          programs_.push_back(st);
        }
        bpf_object__close(obj_);
        obj_ = nullptr;
        return true;
      }
      ProgramStatus st;
      st.name = culprit;
      st.error = "load failed: " + ErrnoText(rc);
      std::string summary = SummarizeLog(log, culprit);
      if (!summary.empty()) st.error += ": " + summary;
      failed.push_back(st);
      disabled.insert(culprit);
      bpf_object__close(obj_);
      obj_ = nullptr;
    }
    if (obj_ == nullptr) {
      *err = "giving up loading " + path_ + " after too many attempts";
      return false;
    }

    struct bpf_program* prog;
    bpf_object__for_each_program(prog, obj_) {
      ProgramStatus st;
      st.name = bpf_program__name(prog);
      st.section = bpf_program__section_name(prog);
      bool failed_here = false;
      for (const auto& f : failed) {
        if (f.name == st.name) { st.error = f.error; failed_here = true; }
      }
      if (!failed_here && disabled_by_caller.count(st.name)) st.error = "disabled";
      if (bpf_program__fd(prog) >= 0 && IsManualUprobe(st.section)) {
        st.loaded = true;
        st.manual = true;
      } else if (bpf_program__fd(prog) >= 0) {
        st.loaded = true;
        LogCapture cap;
        struct bpf_link* link = bpf_program__attach(prog);
        if (link == nullptr) {
          int e = errno;
          st.error = "attach failed: " + ErrnoText(e);
          std::string summary = SummarizeLog(cap.Take(), st.name);
          if (!summary.empty()) st.error += ": " + summary;
        } else {
          st.attached = true;
          links_.push_back(link);
        }
      }
      programs_.push_back(st);
    }
    return true;
  }

  Napi::Value Programs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array arr = Napi::Array::New(env, programs_.size());
    for (size_t i = 0; i < programs_.size(); i++) {
      const ProgramStatus& p = programs_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", p.name);
      o.Set("section", p.section);
      o.Set("loaded", p.loaded);
      o.Set("attached", p.attached);
      if (p.manual) {
        o.Set("manual", true);
        o.Set("attachments", p.attachments);
      }
      if (!p.error.empty()) o.Set("error", p.error);
      arr.Set(static_cast<uint32_t>(i), o);
    }
    return arr;
  }

  // startPolling(onBatch: (batch: Buffer) => void): number of ring buffers polled.
  Napi::Value StartPolling(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "startPolling(onBatch): onBatch must be a function").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (obj_ == nullptr) {
      Napi::Error::New(env, "startPolling: object is closed or failed to load").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (polling_) {
      Napi::Error::New(env, "startPolling: already polling").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int rings = 0;
    struct bpf_map* map;
    bpf_object__for_each_map(map, obj_) {
      if (bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF) continue;
      int fd = bpf_map__fd(map);
      if (fd < 0) continue;
      int err = 0;
      if (rb_ == nullptr) {
        rb_ = ring_buffer__new(fd, &BpfObject::OnRecord, this, nullptr);
        if (rb_ == nullptr) err = -errno;
      } else {
        err = ring_buffer__add(rb_, fd, &BpfObject::OnRecord, this);
      }
      if (err != 0) {
        Napi::Error::New(env, std::string("ring buffer ") + bpf_map__name(map) + ": " + ErrnoText(err))
            .ThrowAsJavaScriptException();
        return env.Undefined();
      }
      rings++;
    }
    if (rings == 0) return Napi::Number::New(env, 0);

    napi_value name;
    napi_create_string_utf8(env, "rootsight-bpf-ringbuf", NAPI_AUTO_LENGTH, &name);
    napi_status s = napi_create_threadsafe_function(env, info[0], nullptr, name, kTsfnQueue, 1, nullptr,
                                                    nullptr, nullptr, &BpfObject::CallJs, &tsfn_);
    if (s != napi_ok) {
      Napi::Error::New(env, "startPolling: cannot create threadsafe function").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    // The poller must not keep the process alive on its own.
    napi_unref_threadsafe_function(env, tsfn_);
    running_ = true;
    polling_ = true;
    thread_ = std::thread([this] { PollLoop(); });
    return Napi::Number::New(env, rings);
  }

  static void CallJs(napi_env env, napi_value js_cb, void* /*context*/, void* data) {
    Batch* b = static_cast<Batch*>(data);
    if (env == nullptr || js_cb == nullptr) {  // tsfn is being torn down: drop the batch
      free(b->data);
      delete b;
      return;
    }
    napi_value buf;
    napi_status s = napi_create_external_buffer(
        env, b->size, b->data, [](napi_env, void* d, void*) { free(d); }, nullptr, &buf);
    if (s != napi_ok) {
      // Some runtimes forbid external buffers: fall back to one copy.
      void* copy = nullptr;
      s = napi_create_buffer_copy(env, b->size, b->data, &copy, &buf);
      free(b->data);
      if (s != napi_ok) { delete b; return; }
    }
    delete b;
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, js_cb, 1, &buf, nullptr);
  }

  static int OnRecord(void* ctx, void* data, size_t size) {
    BpfObject* self = static_cast<BpfObject*>(ctx);
    Batch& b = self->batch_;
    size_t need = b.size + 4 + size;
    if (need > b.capacity) {
      size_t cap = b.capacity ? b.capacity : kBatchFlushBytes + 4096;
      while (cap < need) cap *= 2;
      uint8_t* p = static_cast<uint8_t*>(realloc(b.data, cap));
      if (p == nullptr) return 0;  // out of memory: lose this record
      b.data = p;
      b.capacity = cap;
    }
    if (b.size == 0) self->batch_started_ = std::chrono::steady_clock::now();
    uint32_t len = static_cast<uint32_t>(size);
    memcpy(b.data + b.size, &len, 4);  // x86/arm64 little-endian, as JS reads it
    memcpy(b.data + b.size + 4, data, size);
    b.size += 4 + size;
    if (b.size >= kBatchFlushBytes) self->Flush();
    return 0;
  }

  void Flush() {
    if (batch_.size == 0) return;
    Batch* out = new Batch(batch_);
    batch_ = Batch();
    // Blocks while JS is behind: the ring then fills and the kernel counts the drops.
    napi_status s = napi_call_threadsafe_function(tsfn_, out, napi_tsfn_blocking);
    if (s != napi_ok) {
      free(out->data);
      delete out;
    }
  }

  void PollLoop() {
    while (running_.load()) {
      int n = ring_buffer__poll(rb_, kPollTimeoutMs);
      // The kernel side submits without waking us until much is waiting, so the timeout is the
      // normal way out of poll: take what arrived meanwhile.
      if (n == 0) n = ring_buffer__consume(rb_);
      if (n < 0 && n != -EINTR) {
        // Unexpected: avoid a hot loop, keep trying.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (batch_.size > 0 && std::chrono::steady_clock::now() - batch_started_ >= kBatchFlushInterval) Flush();
    }
    free(batch_.data);
    batch_ = Batch();
  }

  // readCounters(mapName: string): number[] (per-CPU values summed)
  Napi::Value ReadCounters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) {
      Napi::TypeError::New(env, "readCounters(mapName): mapName must be a string").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (obj_ == nullptr) {
      Napi::Error::New(env, "readCounters: object is closed or failed to load").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string name = info[0].As<Napi::String>().Utf8Value();
    struct bpf_map* map = bpf_object__find_map_by_name(obj_, name.c_str());
    if (map == nullptr || bpf_map__fd(map) < 0) {
      Napi::Error::New(env, "readCounters: no loaded map named " + name).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    enum bpf_map_type type = bpf_map__type(map);
    if (type != BPF_MAP_TYPE_ARRAY && type != BPF_MAP_TYPE_PERCPU_ARRAY) {
      Napi::Error::New(env, "readCounters: map " + name + " is not an array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (bpf_map__value_size(map) != 8) {
      Napi::Error::New(env, "readCounters: map " + name + " values are not u64").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    bool percpu = type == BPF_MAP_TYPE_PERCPU_ARRAY;
    int ncpu = percpu ? libbpf_num_possible_cpus() : 1;
    if (ncpu <= 0) ncpu = 1;
    uint32_t entries = bpf_map__max_entries(map);
    std::vector<uint64_t> values(ncpu);
    Napi::Array out = Napi::Array::New(env, entries);
    for (uint32_t k = 0; k < entries; k++) {
      double sum = 0;
      if (bpf_map_lookup_elem(bpf_map__fd(map), &k, values.data()) == 0) {
        for (int c = 0; c < ncpu; c++) sum += static_cast<double>(values[c]);
      }
      out.Set(k, Napi::Number::New(env, sum));
    }
    return out;
  }

  void Shutdown() {
    if (polling_) {
      running_ = false;
      // Wakes the poller if it is blocked on a full queue; later calls return napi_closing.
      // The tsfn is freed by the event loop, which cannot run before join() returns.
      napi_release_threadsafe_function(tsfn_, napi_tsfn_abort);
      if (thread_.joinable()) thread_.join();
      tsfn_ = nullptr;
      polling_ = false;
    }
    if (rb_ != nullptr) {
      ring_buffer__free(rb_);
      rb_ = nullptr;
    }
    for (struct bpf_link* l : links_) bpf_link__destroy(l);
    links_.clear();
    if (obj_ != nullptr) {
      bpf_object__close(obj_);
      obj_ = nullptr;
    }
  }

  // attachUprobe(program, binaryPath, symbol, offset): attaches a manual uprobe/uretprobe program
  // to a function of an ELF file, for every process that maps it (the kernel keys uprobes by
  // inode). symbol may be "" to probe the raw file offset. Throws with libbpf's reason.
  Napi::Value AttachUprobe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsString() || !info[1].IsString() || !info[2].IsString() || !info[3].IsNumber()) {
      Napi::TypeError::New(env, "attachUprobe(program, binaryPath, symbol, offset): wrong arguments").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (obj_ == nullptr) {
      Napi::Error::New(env, "attachUprobe: object is closed or failed to load").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string name = info[0].As<Napi::String>().Utf8Value();
    std::string path = info[1].As<Napi::String>().Utf8Value();
    std::string symbol = info[2].As<Napi::String>().Utf8Value();
    int64_t offset = info[3].As<Napi::Number>().Int64Value();
    ProgramStatus* st = nullptr;
    for (auto& p : programs_) if (p.name == name) st = &p;
    struct bpf_program* prog = bpf_object__find_program_by_name(obj_, name.c_str());
    if (st == nullptr || prog == nullptr || !st->manual || bpf_program__fd(prog) < 0) {
      Napi::Error::New(env, "attachUprobe: " + name + " is not a loaded manual uprobe program").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (offset < 0) {
      Napi::RangeError::New(env, "attachUprobe: offset must not be negative").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    LIBBPF_OPTS(bpf_uprobe_opts, opts);
    opts.retprobe = st->section == "uretprobe";
    if (!symbol.empty()) opts.func_name = symbol.c_str();
    LogCapture cap;
    struct bpf_link* link = bpf_program__attach_uprobe_opts(prog, -1, path.c_str(), static_cast<size_t>(offset), &opts);
    if (link == nullptr) {
      int e = errno;
      std::string why = "attach " + name + " to " + path + ":" + (symbol.empty() ? std::to_string(offset) : symbol) +
                        " failed: " + ErrnoText(e);
      std::string summary = SummarizeLog(cap.Take(), name);
      if (!summary.empty()) why += ": " + summary;
      Napi::Error::New(env, why).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    links_.push_back(link);
    st->attachments++;
    st->attached = true;
    return Napi::Number::New(env, st->attachments);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  std::string path_;
  struct bpf_object* obj_ = nullptr;
  std::vector<struct bpf_link*> links_;
  std::vector<ProgramStatus> programs_;
  struct ring_buffer* rb_ = nullptr;
  napi_threadsafe_function tsfn_ = nullptr;
  std::thread thread_;
  std::atomic<bool> running_{false};
  bool polling_ = false;
  Batch batch_;
  std::chrono::steady_clock::time_point batch_started_;
};

Napi::Value LibbpfVersion(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), libbpf_version_string());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  libbpf_set_print(CaptureLibbpfLog);
  BpfObject::Init(env, exports);
  exports.Set("libbpfVersion", Napi::Function::New(env, LibbpfVersion));
  InitNetlink(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(rootsight_bpf, Init)
