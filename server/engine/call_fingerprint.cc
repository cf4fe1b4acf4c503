#include "server/engine/call_fingerprint.h"

#include <string>

#include "absl/hash/hash.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace futured::server {

uint64_t CallFingerprint(absl::string_view function, absl::string_view pool,
                         const BoundArgs& args,
                         std::optional<absl::Duration> timeout) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    for (size_t i = 0; i < args.size(); ++i) {
      const google::protobuf::Value& value = args.Get(i);
      coded.WriteVarint64(value.ByteSizeLong());
      value.SerializeWithCachedSizes(&coded);
    }
  }
  return absl::HashOf(function, pool, bytes, timeout.has_value(),
                      timeout.value_or(absl::ZeroDuration()));
}

}  // namespace futured::server
