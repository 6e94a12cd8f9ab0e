// Netlink socket functions of the addon (netlink.cc).
#pragma once
#include <napi.h>

void InitNetlink(Napi::Env env, Napi::Object exports);
