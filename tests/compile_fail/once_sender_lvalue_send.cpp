// Must NOT compile: sending consumes the sender, so send() / emplace() on an
// lvalue sender is rejected with a message that says to std::move it (ctest
// checks the message). With -DMOVE_THE_SENDER it must compile (the control
// that proves the failure is the lvalue call).
#include <string>

#include "beacon/local_once_event.hpp"
#include "beacon/once_event.hpp"

void send_it(std::string v) {
  beacon::once_event<std::string> ev;
  auto [tx, rx] = ev.bind_by_ref();
  beacon::local_once_event<int> lev;
  auto [ltx, lrx] = lev.bind_by_ref();
  auto [ltx2, lrx2] = beacon::make_local_once<int>();
#if defined(MOVE_THE_SENDER)
  std::move(tx).send(v);
  std::move(ltx).emplace(1);
  beacon::once_sender<int> any = std::move(ltx2);
  std::move(any).send(2);
#elif defined(LVALUE_EMPLACE)
  tx.emplace(v);
#elif defined(CONST_SENDER)
  const auto& ctx = tx;
  ctx.send(std::move(v));
#elif defined(LOCAL_SENDER)
  ltx.send(1);
#elif defined(ERASED_SENDER)
  beacon::once_sender<std::string> any = std::move(tx);
  any.send(v);
#else
  tx.send(v);
#endif
}
