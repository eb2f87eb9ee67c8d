// A PKCS#11 module for the tests that fails on command: it forwards every
// call to the module named by $HOSTCA_TEST_PKCS11_REAL (SoftHSM2), except
// that while the file named by $HOSTCA_TEST_PKCS11_FAIL exists, opening a
// session, logging in, searching and signing answer CKR_DEVICE_REMOVED, as
// an HSM that went away would. (SoftHSM2 itself cannot stand in: a token
// whose folder vanished stays broken in that process until the module is
// initialised again.)
#define CRYPTOKI_GNU 1
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <unistd.h>

#include <cstdlib>

namespace {

ck_function_list real_list;
ck_function_list our_list;

bool failing() {
  const char* flag = std::getenv("HOSTCA_TEST_PKCS11_FAIL");
  return flag && ::access(flag, F_OK) == 0;
}

ck_rv_t open_session(ck_slot_id_t slot, ck_flags_t flags, void* app, ck_notify_t notify,
                     ck_session_handle_t* session) {
  if (failing()) return CKR_DEVICE_REMOVED;
  return real_list.C_OpenSession(slot, flags, app, notify, session);
}

ck_rv_t login(ck_session_handle_t session, ck_user_type_t user, unsigned char* pin,
              unsigned long pin_len) {
  if (failing()) return CKR_DEVICE_REMOVED;
  return real_list.C_Login(session, user, pin, pin_len);
}

ck_rv_t find_init(ck_session_handle_t session, struct ck_attribute* templ, unsigned long count) {
  if (failing()) return CKR_DEVICE_REMOVED;
  return real_list.C_FindObjectsInit(session, templ, count);
}

ck_rv_t sign_init(ck_session_handle_t session, struct ck_mechanism* mechanism,
                  ck_object_handle_t key) {
  if (failing()) return CKR_DEVICE_REMOVED;
  return real_list.C_SignInit(session, mechanism, key);
}

ck_rv_t sign(ck_session_handle_t session, unsigned char* data, unsigned long data_len,
             unsigned char* signature, unsigned long* signature_len) {
  if (failing()) return CKR_DEVICE_REMOVED;
  return real_list.C_Sign(session, data, data_len, signature, signature_len);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) ck_rv_t C_GetFunctionList(
    ck_function_list** list) {
  const char* path = std::getenv("HOSTCA_TEST_PKCS11_REAL");
  void* real = path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : nullptr;
  if (!real) return CKR_GENERAL_ERROR;
  auto get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(real, "C_GetFunctionList"));
  ck_function_list* theirs = nullptr;
  if (!get || get(&theirs) != CKR_OK) return CKR_GENERAL_ERROR;
  real_list = *theirs;
  our_list = *theirs;
  our_list.C_OpenSession = open_session;
  our_list.C_Login = login;
  our_list.C_FindObjectsInit = find_init;
  our_list.C_SignInit = sign_init;
  our_list.C_Sign = sign;
  *list = &our_list;
  return CKR_OK;
}
