// Netlink sockets for the agent's user-space lookups (conntrack, for NAT): Node has no AF_NETLINK.
// Only the socket calls live here; requests are built and replies parsed in TypeScript
// (agent/src/net/conntrack.ts), where they are tested and fuzzed.
#include "netlink.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace {

std::string ErrnoMessage(const char* what, int err) {
  return std::string(what) + ": " + strerror(err) + " (errno " + std::to_string(err) + ")";
}

// A netlink socket belongs to the network namespace its creator was in. To make one in another
// namespace, this thread enters it for the socket() call and returns at once (setns is per
// thread; JS code on this thread does not run in between).
int SocketInNamespace(int protocol, const std::string& netnsPath, std::string* error) {
  int target = -1, home = -1;
  if (!netnsPath.empty()) {
    target = open(netnsPath.c_str(), O_RDONLY | O_CLOEXEC);
    if (target < 0) { *error = ErrnoMessage(("open " + netnsPath).c_str(), errno); return -1; }
    home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0) { *error = ErrnoMessage("open /proc/thread-self/ns/net", errno); close(target); return -1; }
    if (setns(target, CLONE_NEWNET) != 0) {
      *error = ErrnoMessage(("setns " + netnsPath).c_str(), errno);
      close(target); close(home);
      return -1;
    }
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  int socketErr = errno;
  if (home >= 0) {
    // Failing to return would leave the agent's main thread in another namespace: nothing sane
    // can follow, so this is the one place the addon aborts.
    if (setns(home, CLONE_NEWNET) != 0) abort();
    close(home);
    close(target);
  }
  if (fd < 0) { *error = ErrnoMessage("socket(AF_NETLINK)", socketErr); return -1; }
  // A lost or late reply must not hang the agent: give up on a read after 200 ms.
  struct timeval tv = {0, 200 * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  struct sockaddr_nl local = {};
  local.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&local), sizeof(local)) != 0) {
    *error = ErrnoMessage("bind(AF_NETLINK)", errno);
    close(fd);
    return -1;
  }
  return fd;
}

// netlinkOpen(protocol, netnsPath?): a bound netlink socket's fd, in netnsPath's namespace when given.
Napi::Value NetlinkOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "netlinkOpen(protocol, netnsPath?): protocol must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path;
  if (info.Length() > 1 && info[1].IsString()) path = info[1].As<Napi::String>().Utf8Value();
  std::string error;
  int fd = SocketInNamespace(info[0].As<Napi::Number>().Int32Value(), path, &error);
  if (fd < 0) {
    Napi::Error::New(env, error).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// netlinkRequest(fd, request): sends one request to the kernel and returns the first datagram
// that answers it (a message with the request's sequence number); older replies that arrived
// late are skipped. Throws on a socket error or a timeout.
Napi::Value NetlinkRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "netlinkRequest(fd, request): fd must be a number and request a Buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<uint8_t> req = info[1].As<Napi::Buffer<uint8_t>>();
  if (req.Length() < sizeof(struct nlmsghdr)) {
    Napi::RangeError::New(env, "netlinkRequest: request shorter than a netlink header").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t seq;
  memcpy(&seq, req.Data() + offsetof(struct nlmsghdr, nlmsg_seq), sizeof(seq));
  struct sockaddr_nl kernel = {};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent = sendto(fd, req.Data(), req.Length(), 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof(kernel));
  if (sent < 0) {
    Napi::Error::New(env, ErrnoMessage("netlink sendto", errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Reused: zeroing a fresh 32 KiB per request cost more than the copy of the answer out of it.
  static thread_local std::vector<uint8_t> buf(32 * 1024);
  for (int skipped = 0; skipped < 64; skipped++) {
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      Napi::Error::New(env, ErrnoMessage("netlink recv", errno)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (static_cast<size_t>(n) >= sizeof(struct nlmsghdr)) {
      uint32_t got;
      memcpy(&got, buf.data() + offsetof(struct nlmsghdr, nlmsg_seq), sizeof(got));
      if (got == seq) return Napi::Buffer<uint8_t>::Copy(env, buf.data(), static_cast<size_t>(n));
    }
  }
  Napi::Error::New(env, "netlink recv: no reply with the request's sequence number").ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value NetlinkClose(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsNumber()) close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

}  // namespace

void InitNetlink(Napi::Env env, Napi::Object exports) {
  exports.Set("netlinkOpen", Napi::Function::New(env, NetlinkOpen));
  exports.Set("netlinkRequest", Napi::Function::New(env, NetlinkRequest));
  exports.Set("netlinkClose", Napi::Function::New(env, NetlinkClose));
}
