#pragma once
// Just enough XML for S3's answers (ListObjectsV2, DeleteObjects, errors),
// which are flat and known: the text of named elements, entities decoded.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hci::s3::xml {

// The raw contents of every <tag>...</tag> (or <tag/>) in order; elements of
// that name do not nest in S3's answers.
std::vector<std::string_view> elements(std::string_view xml, std::string_view tag);

// The decoded text of the first <tag>, nullopt when there is none.
std::optional<std::string> text(std::string_view xml, std::string_view tag);

// &amp; &lt; &gt; &quot; &apos; and &#N; / &#xN; (ASCII and UTF-8) decoded.
std::string decode(std::string_view text);

// The five special characters escaped, for keys in a request body.
std::string escape(std::string_view text);

}  // namespace hci::s3::xml
