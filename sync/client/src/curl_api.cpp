#include "curl_api.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>

namespace fieldlog::sync::client::detail {

namespace {

// The soname of libcurl's ABI since 7.16; Debian 12's libcurl4 package provides it.
constexpr const char* curl_soname = "libcurl.so.4";

CurlApi api;
std::string load_error;

template <class Fn>
bool resolve(void* library, const char* name, Fn& fn) {
    fn = reinterpret_cast<Fn>(::dlsym(library, name));
    if (fn == nullptr) {
        load_error = std::string(curl_soname) + " has no " + name;
        return false;
    }
    return true;
}

void load_once() {
    // Never unloaded: handles and connections live until the process ends.
    void* library = ::dlopen(curl_soname, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        const char* why = ::dlerror();
        load_error = std::string("cannot load ") + curl_soname + ": " +
                     (why != nullptr ? why : "unknown error");
        return;
    }
    CurlApi loaded;
    bool ok = resolve(library, "curl_global_init", loaded.global_init) &&
              resolve(library, "curl_easy_init", loaded.easy_init) &&
              resolve(library, "curl_easy_cleanup", loaded.easy_cleanup) &&
              resolve(library, "curl_easy_setopt", loaded.easy_setopt) &&
              resolve(library, "curl_easy_getinfo", loaded.easy_getinfo) &&
              resolve(library, "curl_easy_strerror", loaded.easy_strerror) &&
              resolve(library, "curl_multi_init", loaded.multi_init) &&
              resolve(library, "curl_multi_cleanup", loaded.multi_cleanup) &&
              resolve(library, "curl_multi_setopt", loaded.multi_setopt) &&
              resolve(library, "curl_multi_add_handle", loaded.multi_add_handle) &&
              resolve(library, "curl_multi_remove_handle", loaded.multi_remove_handle) &&
              resolve(library, "curl_multi_assign", loaded.multi_assign) &&
              resolve(library, "curl_multi_socket_action", loaded.multi_socket_action) &&
              resolve(library, "curl_multi_info_read", loaded.multi_info_read) &&
              resolve(library, "curl_multi_strerror", loaded.multi_strerror) &&
              resolve(library, "curl_slist_append", loaded.slist_append) &&
              resolve(library, "curl_slist_free_all", loaded.slist_free_all);
    if (!ok) return;
    if (CURLcode rc = loaded.global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
        load_error = std::string("curl_global_init failed: ") + loaded.easy_strerror(rc);
        return;
    }
    api = loaded;
}

}  // namespace

Result<const CurlApi*> load_curl() {
    static std::once_flag once;
    std::call_once(once, load_once);
    if (api.easy_init == nullptr) return Error(Errc::unavailable, load_error);
    return &api;
}

const CurlApi& curl() { return api; }

}  // namespace fieldlog::sync::client::detail
