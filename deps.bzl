load("@bazel_gazelle//:deps.bzl", "go_repository")

def go_dependencies():
    go_repository(
        name = "build_buf_gen_go_bufbuild_protovalidate_protocolbuffers_go",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go",
        sum = "h1:YhMSc48s25kr7kv31Z8vf7sPUIq5YJva9z1mn/hAt0M=",
        version = "v1.36.6-20250425153114-8976f5be98c1.1",
    )
    go_repository(
        name = "build_buf_go_protovalidate",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "buf.build/go/protovalidate",
        sum = "h1:4GKJotbspQjRCcqZMGVSuC8SjwZ/FmgtSuKDpKUTZew=",
        version = "v0.12.0",
    )
    go_repository(
        name = "co_honnef_go_tools",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "honnef.co/go/tools",
        sum = "h1:qTakTkI6ni6LFD5sBwwsdSO+AQqbSIxOauHTTQKZ/7o=",
        version = "v0.1.3",
    )
    go_repository(
        name = "com_github_aclements_go_moremath",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/aclements/go-moremath",
        sum = "h1:xlwdaKcTNVW4PtpQb8aKA4Pjy0CdJHEqvFbAnvR5m2g=",
        version = "v0.0.0-20210112150236-f10218a38794",
    )
    go_repository(
        name = "com_github_ajstarks_deck",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/ajstarks/deck",
        sum = "h1:7kQgkwGRoLzC9K0oyXdJo7nve/bynv/KwUsxbiTlzAM=",
        version = "v0.0.0-20200831202436-30c9fc6549a9",
    )
    go_repository(
        name = "com_github_ajstarks_deck_generate",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/ajstarks/deck/generate",
        sum = "h1:iXUgAaqDcIUGbRoy2TdeofRG/j1zpGRSEmNK05T+bi8=",
        version = "v0.0.0-20210309230005-c3f852c02e19",
    )
    go_repository(
        name = "com_github_ajstarks_svgo",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/ajstarks/svgo",
        sum = "h1:slYM766cy2nI3BwyRiyQj/Ud48djTMtMebDqepE95rw=",
        version = "v0.0.0-20211024235047-1546f124cd8b",
    )
    go_repository(
        name = "com_github_alecthomas_kingpin_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/alecthomas/kingpin/v2",
        sum = "h1:f48lwail6p8zpO1bC4TxtqACaGqHYA22qkHjHpqDjYY=",
        version = "v2.4.0",
    )
    go_repository(
        name = "com_github_alecthomas_units",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/alecthomas/units",
        sum = "h1:mimo19zliBX/vSQ6PWWSL9lK8qwHozUj03+zLoEB8O0=",
        version = "v0.0.0-20240927000941-0f3dac36c52b",
    )
    go_repository(
        name = "com_github_antihax_optional",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/antihax/optional",
        sum = "h1:xK2lYat7ZLaVVcIuj82J8kIro4V6kDe0AUDFboUCwcg=",
        version = "v1.0.0",
    )
    go_repository(
        name = "com_github_antithesishq_antithesis_sdk_go",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/antithesishq/antithesis-sdk-go",
        sum = "h1:TfLnk/It42eZEgaWL/e+xBKBAhX9ru4mRn2+0Xeukmc=",
        version = "v0.9.0-default-no-op",
    )
    go_repository(
        name = "com_github_antlr4_go_antlr_v4",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/antlr4-go/antlr/v4",
        sum = "h1:lxCg3LAv+EUK6t1i0y1V6/SLeUi0eKEKdhQAlS8TVTI=",
        version = "v4.13.0",
    )
    go_repository(
        name = "com_github_beorn7_perks",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/beorn7/perks",
        sum = "h1:VlbKKnNfV8bJzeqoa4cOKqO6bYr3WgKZxO8Z16+hsOM=",
        version = "v1.0.1",
    )
    go_repository(
        name = "com_github_boombuler_barcode",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/boombuler/barcode",
        sum = "h1:NDBbPmhS+EqABEs5Kg3n/5ZNjy73Pz7SIV+KCeqyXcs=",
        version = "v1.0.1",
    )
    go_repository(
        name = "com_github_burntsushi_toml",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/BurntSushi/toml",
        sum = "h1:WXkYYl6Yr3qBf1K79EBnL4mak0OimBfB0XUf9Vl28OQ=",
        version = "v0.3.1",
    )
    go_repository(
        name = "com_github_bytedance_gopkg",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/bytedance/gopkg",
        sum = "h1:oZnQwnX82KAIWb7033bEwtxvTqXcYMxDBaQxo5JJHWM=",
        version = "v0.1.4",
    )
    go_repository(
        name = "com_github_bytedance_sonic",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/bytedance/sonic",
        sum = "h1:gKWTBfYCIQpQHZ7LpwGf9Gj3N88ZN0G/GaB3EQhiGXE=",
        version = "v1.15.5",
    )
    go_repository(
        name = "com_github_bytedance_sonic_loader",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/bytedance/sonic/loader",
        sum = "h1:ziVGAbXQtLoaot/M6YQxntGkekxz6B/DyuJVwnTbMAA=",
        version = "v0.5.3",
    )
    go_repository(
        name = "com_github_campoy_embedmd",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/campoy/embedmd",
        sum = "h1:V4kI2qTJJLf4J29RzI/MAt2c3Bl4dQSYPuflzwFH2hY=",
        version = "v1.0.0",
    )
    go_repository(
        name = "com_github_cenkalti_backoff_v5",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/cenkalti/backoff/v5",
        sum = "h1:ZN+IMa753KfX5hd8vVaMixjnqRZ3y8CuJKRKj1xcsSM=",
        version = "v5.0.3",
    )
    go_repository(
        name = "com_github_census_instrumentation_opencensus_proto",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/census-instrumentation/opencensus-proto",
        sum = "h1:glEXhBS5PSLLv4IXzLA5yPRVX4bilULVyxxbrfOtDAk=",
        version = "v0.2.1",
    )
    go_repository(
        name = "com_github_cespare_xxhash_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/cespare/xxhash/v2",
        sum = "h1:UL815xU9SqsFlibzuggzjXhog7bL6oX9BbNZnL2UFvs=",
        version = "v2.3.0",
    )
    go_repository(
        name = "com_github_chromedp_cdproto",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/chromedp/cdproto",
        sum = "h1:70dLyj3MfhJG6CzwUSdbSszo0QdXpr5bYM/q+w78KBc=",
        version = "v0.160.1",
    )
    go_repository(
        name = "com_github_chromedp_chromedp",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/chromedp/chromedp",
        sum = "h1:CbK1Knbhe9H/m/KT3qfmuSG1c6ErR8ZjmmpHb4Fadz8=",
        version = "v0.23.1",
    )
    go_repository(
        name = "com_github_chzyer_readline",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/chzyer/readline",
        sum = "h1:upd/6fQk4src78LMRzh5vItIt361/o4uq553V8B5sGI=",
        version = "v1.5.1",
    )
    go_repository(
        name = "com_github_client9_misspell",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/client9/misspell",
        sum = "h1:ta993UF76GwbvJcIo3Y68y/M3WxlpEHPWIGDkJYwzJI=",
        version = "v0.3.4",
    )
    go_repository(
        name = "com_github_cloudwego_base64x",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/cloudwego/base64x",
        sum = "h1:t11wG9AECkCDk5fMSoxmufanudBtJ+/HemLstXDLI2M=",
        version = "v0.1.6",
    )
    go_repository(
        name = "com_github_cloudwego_configmanager",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/cloudwego/configmanager",
        sum = "h1:P0YTBgqDBnKeI/VARvut/Dc9Rfxt9Bw1Nv7sk0Ru4u8=",
        version = "v0.2.3",
    )
    go_repository(
        name = "com_github_cloudwego_dynamicgo",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/cloudwego/dynamicgo",
        sum = "h1:G5rjZlmXGgORR6jGe6MXQ6JjlGSI+e3eo9a4aCJGjsQ=",
        version = "v0.8.0",
    )
    go_repository(
        name = "com_github_cloudwego_fastpb",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/cloudwego/fastpb",
        sum = "h1:i/RlQhtQHe7IevZCO82SHH0+hMp0OEJM5s9shQT5S20=",
        version = "v0.0.6",
    )
    go_repository(
        name = "com_github_cloudwego_frugal",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/cloudwego/frugal",
        sum = "h1:dx+jacEWSChinpzpaaJnsdT9ANlMsw6+sNkajeOzh1U=",
        version = "v0.3.1",
    )
    go_repository(
        name = "com_github_cloudwego_gopkg",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/cloudwego/gopkg",
        sum = "h1:EU8Ahrj0rCfKZQdah50zKnlrQ1o2AdPYM87UclIqLME=",
        version = "v0.2.0",
    )
    go_repository(
        name = "com_github_cloudwego_kitex",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/cloudwego/kitex",
        sum = "h1:qU3LvJNcCACjHQPx944kzY6dd8vvP95s3IFB3zk5nH0=",
        version = "v0.16.3",
    )
    go_repository(
        name = "com_github_cloudwego_localsession",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/cloudwego/localsession",
        sum = "h1:obiuwSP2MQX+fFot3HjOQjvR5o7FlSc8Z4e5EM+NqRY=",
        version = "v0.2.1",
    )
    go_repository(
        name = "com_github_cloudwego_netpoll",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/cloudwego/netpoll",
        sum = "h1:E9ImEseXM9BdHS+5aLxcE9Z0c7okFbM11XMwwJ00LxY=",
        version = "v0.7.3",
    )
    go_repository(
        name = "com_github_cloudwego_prutal",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/cloudwego/prutal",
        sum = "h1:Q0FeohplP/TuvdQqKsBn0BiPdqdE8nQZXc/XXl3HycY=",
        version = "v0.1.3",
    )
    go_repository(
        name = "com_github_cloudwego_runtimex",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/cloudwego/runtimex",
        sum = "h1:lheZjFOyKpsq8TsGGfmX9/4O7F0TKpWmB8on83k7GE8=",
        version = "v0.1.1",
    )
    go_repository(
        name = "com_github_cloudwego_thriftgo",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/cloudwego/thriftgo",
        sum = "h1:Htm0lcftvSPEmnPzE+nWccVhOB13A/GAWfA4kQXTzVw=",
        version = "v0.4.5",
    )
    go_repository(
        name = "com_github_cncf_xds_go",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/cncf/xds/go",
        sum = "h1:aBangftG7EVZoUb69Os8IaYg++6uMOdKK83QtkkvJik=",
        version = "v0.0.0-20260202195803-dba9d589def2",
    )
    go_repository(
        name = "com_github_cockroachdb_datadriven",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/cockroachdb/datadriven",
        sum = "h1:H9MtNqVoVhvd9nCBwOyDjUEdZCREqbIdCJD93PBm/jA=",
        version = "v1.0.2",
    )
    go_repository(
        name = "com_github_coreos_go_semver",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/coreos/go-semver",
        sum = "h1:yi21YpKnrx1gt5R+la8n5WgS0kCrsPp33dmEyHReZr4=",
        version = "v0.3.1",
    )
    go_repository(
        name = "com_github_coreos_go_systemd_v22",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/coreos/go-systemd/v22",
        sum = "h1:LAEzFkke61DFROc7zNLX/WA2i5J8gYqe0rSj9KI28KA=",
        version = "v22.7.0",
    )
    go_repository(
        name = "com_github_creack_pty",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/creack/pty",
        sum = "h1:n56/Zwd5o6whRC5PMGretI4IdRLlmBXYNjScPaBgsbY=",
        version = "v1.1.18",
    )
    go_repository(
        name = "com_github_davecgh_go_spew",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/davecgh/go-spew",
        sum = "h1:U9qPSI2PIWSS1VwoXQT9A3Wy9MM3WgvqSxFWenqJduM=",
        version = "v1.1.2-0.20180830191138-d8f796af33cc",
    )
    go_repository(
        name = "com_github_dlclark_regexp2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/dlclark/regexp2",
        sum = "h1:G/nrcoOa7ZXlpoa/91N3X7mM3r8eIlMBBJZvsz/mxKI=",
        version = "v1.11.0",
    )
    go_repository(
        name = "com_github_dustin_go_humanize",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/dustin/go-humanize",
        sum = "h1:GzkhY7T5VNhEkwH0PVJgjz+fX1rhBrR7pRT3mDkpeCY=",
        version = "v1.0.1",
    )
    go_repository(
        name = "com_github_emicklei_go_restful_v3",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/emicklei/go-restful/v3",
        sum = "h1:C4Bl2xDndpU6nJ4bc1jXd+uTmYPVUwkD6bFY/oTyCes=",
        version = "v3.13.0",
    )
    go_repository(
        name = "com_github_envoyproxy_go_control_plane",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/envoyproxy/go-control-plane",
        sum = "h1:hbG2kr4RuFj222B6+7T83thSPqLjwBIfQawTkC++2HA=",
        version = "v0.14.0",
    )
    go_repository(
        name = "com_github_envoyproxy_go_control_plane_envoy",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/envoyproxy/go-control-plane/envoy",
        sum = "h1:G4dcl8KE/HVPnZ25BBdvGZWi8JjyeBfQSvm95U5P1Qc=",
        version = "v1.40.0",
    )
    go_repository(
        name = "com_github_envoyproxy_go_control_plane_ratelimit",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/envoyproxy/go-control-plane/ratelimit",
        sum = "h1:/G9QYbddjL25KvtKTv3an9lx6VBE2cnb8wp1vEGNYGI=",
        version = "v0.1.0",
    )
    go_repository(
        name = "com_github_envoyproxy_protoc_gen_validate",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/envoyproxy/protoc-gen-validate",
        sum = "h1:MVQghNeW+LZcmXe7SY1V36Z+WFMDjpqGAGacLe2T0ds=",
        version = "v1.3.3",
    )
    go_repository(
        name = "com_github_fatih_structtag",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/fatih/structtag",
        sum = "h1:/OdNE99OxoI/PqaW/SuSK9uxxT3f/tcSZgon/ssNSx4=",
        version = "v1.2.0",
    )
    go_repository(
        name = "com_github_felixge_httpsnoop",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/felixge/httpsnoop",
        sum = "h1:3YtUj32ZZkqZtt3sZZsClsymw/QDuVfpNhoA31zeORc=",
        version = "v1.1.0",
    )
    go_repository(
        name = "com_github_fxamacker_cbor_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/fxamacker/cbor/v2",
        sum = "h1:2rWm8B193Ll4VdjsJY28jxs70IdDsHRWgQYAI80+rMQ=",
        version = "v2.9.1",
    )
    go_repository(
        name = "com_github_go_jose_go_jose_v4",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-jose/go-jose/v4",
        sum = "h1:moDMcTHmvE6Groj34emNPLs/qtYXRVcd6S7NHbHz3kA=",
        version = "v4.1.4",
    )
    go_repository(
        name = "com_github_go_json_experiment_json",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-json-experiment/json",
        sum = "h1:XGPtjxqp0FS8jj1Z7QGcSOSgyq1fUPjNyJXvi3KfI4A=",
        version = "v0.0.0-20260213210345-44df1a37e875",
    )
    go_repository(
        name = "com_github_go_logr_logr",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-logr/logr",
        sum = "h1:tG4xh9yMsRCAiodLVTxyrkzSZ9+o0L1Kg/+cPVcbP/8=",
        version = "v1.4.4",
    )
    go_repository(
        name = "com_github_go_logr_stdr",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-logr/stdr",
        sum = "h1:hSWxHoqTgW2S2qGc0LTAI563KZ5YKYRhT3MFKZMbjag=",
        version = "v1.2.2",
    )
    go_repository(
        name = "com_github_go_openapi_jsonpointer",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-openapi/jsonpointer",
        sum = "h1:kR9tHqY0CtZaOPVFm622dPVNhrvYpwr4uCxgL3h1H8s=",
        version = "v1.0.0",
    )
    go_repository(
        name = "com_github_go_openapi_jsonreference",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-openapi/jsonreference",
        sum = "h1:jlmTr6torcd1YgDQvSfNmRtKzYDO4FGBkrAdlAVWnpY=",
        version = "v1.0.0",
    )
    go_repository(
        name = "com_github_go_openapi_swag",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-openapi/swag",
        sum = "h1:VotvOLWW8q/EAxB0YdsBBGC8XYyeL1YwBj2ungAGPNg=",
        version = "v0.27.1",
    )
    go_repository(
        name = "com_github_go_openapi_swag_cmdutils",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-openapi/swag/cmdutils",
        sum = "h1:I7sYqaWVl5mq0NEmNQkAmFDyNin9ufvMX/p2zwtQaOE=",
        version = "v0.27.1",
    )
    go_repository(
        name = "com_github_go_openapi_swag_conv",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-openapi/swag/conv",
        sum = "h1:8wi9ZG+olmY1wXphl93EWniPtbSPkXM/feH7FgjsvrU=",
        version = "v0.27.1",
    )
    go_repository(
        name = "com_github_go_openapi_swag_fileutils",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-openapi/swag/fileutils",
        sum = "h1:QQqBSoi5mW4XpU85nS0mLcA+zAE6vLzrb0QkmLKf9oM=",
        version = "v0.27.1",
    )
    go_repository(
        name = "com_github_go_openapi_swag_jsonutils",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-openapi/swag/jsonutils",
        sum = "h1:SVgK3i4USzCU5mibOOS/l4ea2h9UQXy7J7RNLTjuXjU=",
        version = "v0.27.1",
    )
    go_repository(
        name = "com_github_go_openapi_swag_loading",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-openapi/swag/loading",
        sum = "h1:/DxUgDXKbBX4bcn7r9uEXfJyzN5XpiJmZplzQTjrRCY=",
        version = "v0.27.1",
    )
    go_repository(
        name = "com_github_go_openapi_swag_mangling",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-openapi/swag/mangling",
        sum = "h1:yC9D0HyUE8gbP+BfmGx9+AA89ikwZTMjESK3OnnoaqA=",
        version = "v0.27.1",
    )
    go_repository(
        name = "com_github_go_openapi_swag_netutils",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-openapi/swag/netutils",
        sum = "h1:mICMFoS82F5TZ4Zy3cqmcQk+BFeCp3Uyq3Np7GI0/qU=",
        version = "v0.27.1",
    )
    go_repository(
        name = "com_github_go_openapi_swag_pools",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-openapi/swag/pools",
        sum = "h1:9LeadcMyb2GJCbXX5hVQDbZ2Lq9TL4dCs/nx1j5DO0E=",
        version = "v0.27.1",
    )
    go_repository(
        name = "com_github_go_openapi_swag_stringutils",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-openapi/swag/stringutils",
        sum = "h1:ZXePZ0r2p1qSjo8tD3Un4vFj8+FqlCkczxDrJIhYUp8=",
        version = "v0.27.1",
    )
    go_repository(
        name = "com_github_go_openapi_swag_typeutils",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-openapi/swag/typeutils",
        sum = "h1:KSTdFlfnse4r6dP9IrEnwMldjE+zs71UeEB3//PtVXc=",
        version = "v0.27.1",
    )
    go_repository(
        name = "com_github_go_openapi_swag_yamlutils",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-openapi/swag/yamlutils",
        sum = "h1:ftxv6xvXb1E3zohUc+okZ9nSqNb9StQX/FXnKZ98sQA=",
        version = "v0.27.1",
    )
    go_repository(
        name = "com_github_go_quicktest_qt",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/go-quicktest/qt",
        sum = "h1:O1K29Txy5P2OK0dGo59b7b0LR6wKfIhttaAhHUyn7eI=",
        version = "v1.101.0",
    )
    go_repository(
        name = "com_github_godbus_dbus_v5",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/godbus/dbus/v5",
        sum = "h1:4KLkAxT3aOY8Li4FRJe/KvhoNFFxo0m6fNuFUO8QJUk=",
        version = "v5.1.0",
    )
    go_repository(
        name = "com_github_gogo_protobuf",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/gogo/protobuf",
        sum = "h1:Ov1cvc58UF3b5XjBnZv7+opcTcQFZebYjWzi34vdm4Q=",
        version = "v1.3.2",
    )
    go_repository(
        name = "com_github_golang_freetype",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/golang/freetype",
        sum = "h1:DACJavvAHhabrF08vX0COfcOBJRhZ8lUbR+ZWIs0Y5g=",
        version = "v0.0.0-20170609003504-e2365dfdc4a0",
    )
    go_repository(
        name = "com_github_golang_glog",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/golang/glog",
        sum = "h1:DrW6hGnjIhtvhOIiAKT6Psh/Kd/ldepEa81DKeiRJ5I=",
        version = "v1.2.5",
    )
    go_repository(
        name = "com_github_golang_groupcache",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/golang/groupcache",
        sum = "h1:oI5xCqsCo564l8iNU+DwB5epxmsaqB+rhGL0m5jtYqE=",
        version = "v0.0.0-20210331224755-41bb18bfe9da",
    )
    go_repository(
        name = "com_github_golang_jwt_jwt_v5",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/golang-jwt/jwt/v5",
        sum = "h1:kYf81DTWFe7t+1VvL7eS+jKFVWaUnK9cB1qbwn63YCY=",
        version = "v5.3.1",
    )
    go_repository(
        name = "com_github_golang_mock",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/golang/mock",
        sum = "h1:ErTB+efbowRARo13NNdxyJji2egdxLGQhRaY+DUumQc=",
        version = "v1.6.0",
    )
    go_repository(
        name = "com_github_golang_protobuf",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/golang/protobuf",
        sum = "h1:i7eJL8qZTpSEXOPTxNKhASYpMn+8e5Q6AdndVa1dWek=",
        version = "v1.5.4",
    )
    go_repository(
        name = "com_github_google_cel_go",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/google/cel-go",
        sum = "h1:jsFw9Fhn+3y2kBbltZR4VEz5xKkcIFRPDnuEzAGv5GY=",
        version = "v0.25.0",
    )
    go_repository(
        name = "com_github_google_gnostic_models",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/google/gnostic-models",
        sum = "h1:qwTtogB15McXDaNqTZdzPJRHvaVJlAl+HVQnLmJEJxo=",
        version = "v0.7.0",
    )
    go_repository(
        name = "com_github_google_go_cmp",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/google/go-cmp",
        sum = "h1:wk8382ETsv4JYUZwIsn6YpYiWiBsYLSJiTsyBybVuN8=",
        version = "v0.7.0",
    )
    go_repository(
        name = "com_github_google_go_pkcs11",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/google/go-pkcs11",
        sum = "h1:PVRnTgtArZ3QQqTGtbtjtnIkzl2iY2kt24yqbrf7td8=",
        version = "v0.3.0",
    )
    go_repository(
        name = "com_github_google_go_tpm",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/google/go-tpm",
        sum = "h1:slArAR9Ft+1ybZu0lBwpSmpwhRXaa85hWtMinMyRAWo=",
        version = "v0.9.8",
    )
    go_repository(
        name = "com_github_google_go_tpm_tools",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/google/go-tpm-tools",
        sum = "h1:qJEJcuLzH5KDR0gKc0zcktin6KSAwL7+jWKBYceddTc=",
        version = "v0.3.13-0.20230620182252-4639ecce2aba",
    )
    go_repository(
        name = "com_github_google_gofuzz",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/google/gofuzz",
        sum = "h1:A8PeW59pxE9IoFRqBp37U+mSNaQoZ46F1f0f863XSXw=",
        version = "v1.0.0",
    )
    go_repository(
        name = "com_github_google_pprof",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/google/pprof",
        sum = "h1:FKHo8hFI3A+7w0aUQuYXQ+6EN5stWmeY/AZqtM8xk9k=",
        version = "v0.0.0-20240727154555-813a5fbdbec8",
    )
    go_repository(
        name = "com_github_google_renameio",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/google/renameio",
        sum = "h1:GOZbcHa3HfsPKPlmyPyN2KEohoMXOhdMbHrvbpl2QaA=",
        version = "v0.1.0",
    )
    go_repository(
        name = "com_github_google_s2a_go",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/google/s2a-go",
        sum = "h1:LGD7gtMgezd8a/Xak7mEWL0PjoTQFvpRudN895yqKW0=",
        version = "v0.1.9",
    )
    go_repository(
        name = "com_github_google_uuid",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/google/uuid",
        sum = "h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=",
        version = "v1.6.0",
    )
    go_repository(
        name = "com_github_googleapis_enterprise_certificate_proxy",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/googleapis/enterprise-certificate-proxy",
        sum = "h1:xolVQTEXusUcAA5UgtyRLjelpFFHWlPQ4XfWGc7MBas=",
        version = "v0.3.15",
    )
    go_repository(
        name = "com_github_googleapis_gax_go_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/googleapis/gax-go/v2",
        sum = "h1:PjIWBpgGIVKGoCXuiCoP64altEJCj3/Ei+kSU5vlZD4=",
        version = "v2.22.0",
    )
    go_repository(
        name = "com_github_googlecloudplatform_opentelemetry_operations_go_detectors_gcp",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/GoogleCloudPlatform/opentelemetry-operations-go/detectors/gcp",
        sum = "h1:yzIYdwuro811Z27D3T80Wkd3rqZzb0K43nner7Eh1yE=",
        version = "v1.34.0",
    )
    go_repository(
        name = "com_github_gordonklaus_ineffassign",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/gordonklaus/ineffassign",
        sum = "h1:vc7Dmrk4JwS0ZPS6WZvWlwDflgDTA26jItmbSj83nug=",
        version = "v0.0.0-20200309095847-7953dde2c7bf",
    )
    go_repository(
        name = "com_github_gorilla_websocket",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/gorilla/websocket",
        sum = "h1:saDtZ6Pbx/0u+bgYQ3q96pZgCzfhKXGPqt7kZ72aNNg=",
        version = "v1.5.3",
    )
    go_repository(
        name = "com_github_grpc_ecosystem_go_grpc_middleware_providers_prometheus",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus",
        sum = "h1:QGLs/O40yoNK9vmy4rhUGBVyMf1lISBGtXRpsu/Qu/o=",
        version = "v1.1.0",
    )
    go_repository(
        name = "com_github_grpc_ecosystem_go_grpc_middleware_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/grpc-ecosystem/go-grpc-middleware/v2",
        sum = "h1:B+8ClL/kCQkRiU82d9xajRPKYMrB7E0MbtzWVi1K4ns=",
        version = "v2.3.3",
    )
    go_repository(
        name = "com_github_grpc_ecosystem_grpc_gateway_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/grpc-ecosystem/grpc-gateway/v2",
        sum = "h1:5VipnvEpbqr2gA2VbM+nYVbkIF28c5ZQfqCBQ5g2xfk=",
        version = "v2.29.0",
    )
    go_repository(
        name = "com_github_hdrhistogram_hdrhistogram_go",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/HdrHistogram/hdrhistogram-go",
        sum = "h1:JdU0squ73hT0G45GVKzZ8KXS8ImiFuPHAA36aWaCfMM=",
        version = "v1.4.0",
    )
    go_repository(
        name = "com_github_iancoleman_strcase",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/iancoleman/strcase",
        sum = "h1:nTXanmYxhfFAMjZL34Ov6gkzEsSJZ5DbhxWjvSASxEI=",
        version = "v0.3.0",
    )
    go_repository(
        name = "com_github_ianlancetaylor_demangle",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/ianlancetaylor/demangle",
        sum = "h1:KwWnWVWCNtNq/ewIX7HIKnELmEx2nDP42yskD/pi7QE=",
        version = "v0.0.0-20240312041847-bd984b5ce465",
    )
    go_repository(
        name = "com_github_inconshreveable_mousetrap",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/inconshreveable/mousetrap",
        sum = "h1:wN+x4NVGpMsO7ErUn/mUI3vEoE6Jt13X2s0bqwp9tc8=",
        version = "v1.1.0",
    )
    go_repository(
        name = "com_github_jhump_protoreflect",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/jhump/protoreflect",
        sum = "h1:k2xE7wcUomeqwY0LDCYA16y4WWfyTcMx5mKhk0d4ua0=",
        version = "v1.8.2",
    )
    go_repository(
        name = "com_github_jonboulle_clockwork",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/jonboulle/clockwork",
        sum = "h1:Hyh9A8u51kptdkR+cqRpT1EebBwTn1oK9YfGYbdFz6I=",
        version = "v0.5.0",
    )
    go_repository(
        name = "com_github_jpillora_backoff",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/jpillora/backoff",
        sum = "h1:uvFg412JmmHBHw7iwprIxkPMI+sGQ4kzOWsMeHnm2EA=",
        version = "v1.0.0",
    )
    go_repository(
        name = "com_github_json_iterator_go",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/json-iterator/go",
        sum = "h1:PV8peI4a0ysnczrg+LtxykD8LfKY9ML6u2jnxaEnrnM=",
        version = "v1.1.12",
    )
    go_repository(
        name = "com_github_julienschmidt_httprouter",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/julienschmidt/httprouter",
        sum = "h1:U0609e9tgbseu3rBINet9P48AI/D3oJs4dN7jwJOQ1U=",
        version = "v1.3.0",
    )
    go_repository(
        name = "com_github_kisielk_gotool",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/kisielk/gotool",
        sum = "h1:AV2c/EiW3KqPNT9ZKl07ehoAGi4C5/01Cfbblndcapg=",
        version = "v1.0.0",
    )
    go_repository(
        name = "com_github_klauspost_compress",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/klauspost/compress",
        sum = "h1:dD0v/bvxtjCBqQu6sx1TNWkalEY5lNTIe+HY9w8TeNI=",
        version = "v1.20.4",
    )
    go_repository(
        name = "com_github_klauspost_cpuid_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/klauspost/cpuid/v2",
        sum = "h1:66ze0taIn2H33fBvCkXuv9BmCwDfafmiIVpKV9kKGuY=",
        version = "v2.2.9",
    )
    go_repository(
        name = "com_github_kr_pretty",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/kr/pretty",
        sum = "h1:flRD4NNwYAUpkphVc1HcthR4KEIFJ65n8Mw5qdRn3LE=",
        version = "v0.3.1",
    )
    go_repository(
        name = "com_github_kr_pty",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/kr/pty",
        sum = "h1:VkoXIwSboBpnk99O/KFauAEILuNHv5DVFKZMBN/gUgw=",
        version = "v1.1.1",
    )
    go_repository(
        name = "com_github_kr_text",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/kr/text",
        sum = "h1:5Nx0Ya0ZqY2ygV366QzturHI13Jq95ApcVaJBhpS+AY=",
        version = "v0.2.0",
    )
    go_repository(
        name = "com_github_kylelemons_godebug",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/kylelemons/godebug",
        sum = "h1:RPNrshWIDI6G2gRW9EHilWtl7Z6Sb1BR0xunSBf0SNc=",
        version = "v1.1.0",
    )
    go_repository(
        name = "com_github_lyft_protoc_gen_star_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/lyft/protoc-gen-star/v2",
        sum = "h1:JDlNKttNIRd68AAIychs0AqEpO8/I/WYi01OQ7Raw6Q=",
        version = "v2.0.4",
    )
    go_repository(
        name = "com_github_matttproud_golang_protobuf_extensions",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/matttproud/golang_protobuf_extensions",
        sum = "h1:4hp9jkHxhMHkqkrB3Ix0jegS5sx/RkqARlsWZ6pIwiU=",
        version = "v1.0.1",
    )
    go_repository(
        name = "com_github_microsoft_go_winio",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/Microsoft/go-winio",
        sum = "h1:F2VQgta7ecxGYO8k3ZZz3RS8fVIXVxONVUPlNERoyfY=",
        version = "v0.6.2",
    )
    go_repository(
        name = "com_github_minio_highwayhash",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/minio/highwayhash",
        sum = "h1:asJizugGgchQod2ja9NJlGOWq4s7KsAWr5XUc9Clgl4=",
        version = "v1.0.4",
    )
    go_repository(
        name = "com_github_moby_spdystream",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/moby/spdystream",
        sum = "h1:9sNYeYZUcci9R6/w7KDaFWEWeV4LStVG78Mpyq/Zm/Y=",
        version = "v0.5.1",
    )
    go_repository(
        name = "com_github_modern_go_concurrent",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/modern-go/concurrent",
        sum = "h1:TRLaZ9cD/w8PVh93nsPXa1VrQ6jlwL5oN8l14QlcNfg=",
        version = "v0.0.0-20180306012644-bacd9c7ef1dd",
    )
    go_repository(
        name = "com_github_modern_go_reflect2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/modern-go/reflect2",
        sum = "h1:W5t00kpgFdJifH4BDsTlE89Zl93FEloxaWZfGcifgq8=",
        version = "v1.0.3-0.20250322232337-35a7c28c31ee",
    )
    go_repository(
        name = "com_github_munnerz_goautoneg",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/munnerz/goautoneg",
        sum = "h1:C3w9PqII01/Oq1c1nUAm88MOHcQC9l5mIlSMApZMrHA=",
        version = "v0.0.0-20191010083416-a7dc8b61c822",
    )
    go_repository(
        name = "com_github_mwitkow_go_conntrack",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/mwitkow/go-conntrack",
        sum = "h1:KUppIJq7/+SVif2QVs3tOP0zanoHgBEVAwHxUSIzRqU=",
        version = "v0.0.0-20190716064945-2f068394615f",
    )
    go_repository(
        name = "com_github_mxk_go_flowrate",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/mxk/go-flowrate",
        sum = "h1:y5//uYreIhSUg3J1GEMiLbxo1LJaP8RfCpH6pymGZus=",
        version = "v0.0.0-20140419014527-cca7078d478f",
    )
    go_repository(
        name = "com_github_nats_io_jwt_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/nats-io/jwt/v2",
        sum = "h1:pqImTmlqH2zPHKNdRXO0YRyWif2diGRlrtLFJ2RxM2I=",
        version = "v2.8.3",
    )
    go_repository(
        name = "com_github_nats_io_nats_go",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/nats-io/nats.go",
        sum = "h1:z1p2yNGsIEoz1j6QhRMmZi4WEiaPBXBeg6qMIM27wzY=",
        version = "v1.56.0",
    )
    go_repository(
        name = "com_github_nats_io_nats_server_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/nats-io/nats-server/v2",
        sum = "h1:IgHIKL4DYN9mEfwtPcdM39muvXG8v9FBADQn0f4Whs0=",
        version = "v2.15.3",
    )
    go_repository(
        name = "com_github_nats_io_nkeys",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/nats-io/nkeys",
        sum = "h1:JAJrlDhOyQqOt0a1eg4cbIZ1Kc7+vmkCigAltpwQpVA=",
        version = "v0.4.17",
    )
    go_repository(
        name = "com_github_nats_io_nuid",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/nats-io/nuid",
        sum = "h1:5iA8DT8V7q8WK2EScv2padNa/rTESc1KdnPw4TC2paw=",
        version = "v1.0.1",
    )
    go_repository(
        name = "com_github_nishanths_predeclared",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/nishanths/predeclared",
        sum = "h1:3f0nxAmdj/VoCGN/ijdMy7bj6SBagaqYg1B0hu8clMA=",
        version = "v0.0.0-20200524104333-86fad755b4d3",
    )
    go_repository(
        name = "com_github_nytimes_gziphandler",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/NYTimes/gziphandler",
        sum = "h1:ZUDjpQae29j0ryrS0u/B8HZfJBtBQHjqw2rQ2cqUQ3I=",
        version = "v1.1.1",
    )
    go_repository(
        name = "com_github_phpdave11_gofpdi",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/phpdave11/gofpdi",
        sum = "h1:o61duiW8M9sMlkVXWlvP92sZJtGKENvW3VExs6dZukQ=",
        version = "v1.0.13",
    )
    go_repository(
        name = "com_github_pkg_errors",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/pkg/errors",
        sum = "h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=",
        version = "v0.9.1",
    )
    go_repository(
        name = "com_github_planetscale_vtprotobuf",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/planetscale/vtprotobuf",
        sum = "h1:GFCKgmp0tecUJ0sJuv4pzYCqS9+RGSn52M3FUwPs+uo=",
        version = "v0.6.1-0.20240319094008-0393e58bdf10",
    )
    go_repository(
        name = "com_github_pmezard_go_difflib",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/pmezard/go-difflib",
        sum = "h1:Jamvg5psRIccs7FGNTlIRMkT8wgtp5eCXdBlqhYGL6U=",
        version = "v1.0.1-0.20181226105442-5d4384ee4fb2",
    )
    go_repository(
        name = "com_github_prometheus_client_golang",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/prometheus/client_golang",
        sum = "h1:Je96obch5RDVy3FDMndoUsjAhG5Edi49h0RJWRi/o0o=",
        version = "v1.23.2",
    )
    go_repository(
        name = "com_github_prometheus_client_model",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/prometheus/client_model",
        sum = "h1:O0jaTVAYNxTHYInEPFJt5I3+sN8zqBtVMPTB1qyxiEo=",
        version = "v0.6.3",
    )
    go_repository(
        name = "com_github_prometheus_common",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/prometheus/common",
        sum = "h1:pIgK94WWlQt1WLwAC5j2ynLaBRDiinoAb86HZHTUGI4=",
        version = "v0.67.5",
    )
    go_repository(
        name = "com_github_prometheus_procfs",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/prometheus/procfs",
        sum = "h1:hZ15bTNuirocR6u0JZ6BAHHmwS1p8B4P6MRqxtzMyRg=",
        version = "v0.16.1",
    )
    go_repository(
        name = "com_github_rogpeppe_fastuuid",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/rogpeppe/fastuuid",
        sum = "h1:Ppwyp6VYCF1nvBTXL3trRso7mXMlRrw9ooo375wvi2s=",
        version = "v1.2.0",
    )
    go_repository(
        name = "com_github_rogpeppe_go_internal",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/rogpeppe/go-internal",
        sum = "h1:UQB4HGPB6osV0SQTLymcB4TgvyWu6ZyliaW0tI/otEQ=",
        version = "v1.14.1",
    )
    go_repository(
        name = "com_github_ruudk_golang_pdf417",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/ruudk/golang-pdf417",
        sum = "h1:K1Xf3bKttbF+koVGaX5xngRIZ5bVjbmPnaxE/dR08uY=",
        version = "v0.0.0-20201230142125-a7e3863a1245",
    )
    go_repository(
        name = "com_github_sirupsen_logrus",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/sirupsen/logrus",
        sum = "h1:TsZE7l11zFCLZnZ+teH4Umoq5BhEIfIzfRDZ1Uzql2w=",
        version = "v1.9.4",
    )
    go_repository(
        name = "com_github_soheilhy_cmux",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/soheilhy/cmux",
        sum = "h1:jjzc5WVemNEDTLwv9tlmemhC73tI08BNOIGwBOo10Js=",
        version = "v0.1.5",
    )
    go_repository(
        name = "com_github_spf13_afero",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/spf13/afero",
        sum = "h1:b/YBCLWAJdFWJTN9cLhiXXcD7mzKn9Dm86dNnfyQw1I=",
        version = "v1.15.0",
    )
    go_repository(
        name = "com_github_spf13_cobra",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/spf13/cobra",
        sum = "h1:DMTTonx5m65Ic0GOoRY2c16WCbHxOOw6xxezuLaBpcU=",
        version = "v1.10.2",
    )
    go_repository(
        name = "com_github_spf13_pflag",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/spf13/pflag",
        sum = "h1:4EBh2KAYBwaONj6b2Ye1GiHfwjqyROoF4RwYO+vPwFk=",
        version = "v1.0.10",
    )
    go_repository(
        name = "com_github_spiffe_go_spiffe_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/spiffe/go-spiffe/v2",
        sum = "h1:eXZMLsu+3MLEPJyGJkolqtVrteZfQdUpOWj6LTiDl/E=",
        version = "v2.8.1",
    )
    go_repository(
        name = "com_github_stoewer_go_strcase",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/stoewer/go-strcase",
        sum = "h1:g0eASXYtp+yvN9fK8sH94oCIk0fau9uV1/ZdJ0AVEzs=",
        version = "v1.3.0",
    )
    go_repository(
        name = "com_github_stretchr_objx",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/stretchr/objx",
        sum = "h1:xuMeJ0Sdp5ZMRXx/aWO6RZxdr3beISkG5/G/aIRr3pY=",
        version = "v0.5.2",
    )
    go_repository(
        name = "com_github_stretchr_testify",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/stretchr/testify",
        sum = "h1:7s2iGBzp5EwR7/aIZr8ao5+dra3wiQyKjjFuvgVKu7U=",
        version = "v1.11.1",
    )
    go_repository(
        name = "com_github_tidwall_gjson",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/tidwall/gjson",
        sum = "h1:bwWLZU7icoKRG+C+0PNwIKC6FCJO/Q3p2pZvuP0jN94=",
        version = "v1.17.3",
    )
    go_repository(
        name = "com_github_tidwall_match",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/tidwall/match",
        sum = "h1:+Ho715JplO36QYgwN9PGYNhgZvoUSc9X2c80KVTi+GA=",
        version = "v1.1.1",
    )
    go_repository(
        name = "com_github_tidwall_pretty",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/tidwall/pretty",
        sum = "h1:RWIZEg2iJ8/g6fDDYzMpobmaoGh5OLl4AXtGUGPcqCs=",
        version = "v1.2.0",
    )
    go_repository(
        name = "com_github_tmc_grpc_websocket_proxy",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/tmc/grpc-websocket-proxy",
        sum = "h1:6fotK7otjonDflCTK0BCfls4SPy3NcCVb5dqqmbRknE=",
        version = "v0.0.0-20220101234140-673ab2c3ae75",
    )
    go_repository(
        name = "com_github_twitchyliquid64_golang_asm",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/twitchyliquid64/golang-asm",
        sum = "h1:SU5vSMR7hnwNxj24w34ZyCi/FmDZTkS4MhqMhdFk5YI=",
        version = "v0.15.1",
    )
    go_repository(
        name = "com_github_valyala_bytebufferpool",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/valyala/bytebufferpool",
        sum = "h1:GqA5TC/0021Y/b9FG4Oi9Mr3q7XYx6KllzawFIhcdPw=",
        version = "v1.0.0",
    )
    go_repository(
        name = "com_github_x448_float16",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/x448/float16",
        sum = "h1:qLwI1I70+NjRFUR3zs1JPUCgaCXSh3SW62uAKT1mSBM=",
        version = "v0.8.4",
    )
    go_repository(
        name = "com_github_xhit_go_str2duration_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/xhit/go-str2duration/v2",
        sum = "h1:lxklc02Drh6ynqX+DdPyp5pCKLUQpRT8bp8Ydu2Bstc=",
        version = "v2.1.0",
    )
    go_repository(
        name = "com_github_xiang90_probing",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/xiang90/probing",
        sum = "h1:S2dVYn90KE98chqDkyE9Z4N61UnQd+KOfgp5Iu53llk=",
        version = "v0.0.0-20221125231312-a49e3df8f510",
    )
    go_repository(
        name = "com_github_yuin_goldmark",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "github.com/yuin/goldmark",
        sum = "h1:ruQGxdhGHe7FWOJPT0mKs5+pD2Xs1Bm/kdGlHO04FmM=",
        version = "v1.2.1",
    )
    go_repository(
        name = "com_google_cloud_go",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go",
        sum = "h1:ZaGT6LiG7dBzi6zNOvVZwacaXlmf3lRqnC4DQzqyRQw=",
        version = "v0.112.2",
    )
    go_repository(
        name = "com_google_cloud_go_accessapproval",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/accessapproval",
        sum = "h1:gq8OS+rQWgGRo91D2qztN+ion6AZ2T1CxBIu0ifCmVo=",
        version = "v1.8.8",
    )
    go_repository(
        name = "com_google_cloud_go_accesscontextmanager",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/accesscontextmanager",
        sum = "h1:aKIfg7Jyc73pe8bzx0zypNdS5gfFdSvFvB8YNA9k2kA=",
        version = "v1.9.7",
    )
    go_repository(
        name = "com_google_cloud_go_aiplatform",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/aiplatform",
        sum = "h1:jKWTpEs+xoUhDa1FMdSuhMcEQYyUiMdufGyX3zvtLVQ=",
        version = "v1.120.0",
    )
    go_repository(
        name = "com_google_cloud_go_analytics",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/analytics",
        sum = "h1:souLxu9tQHzF+0NDpKoIw4pl2WQ9K2JfkdPPs36BfXw=",
        version = "v0.30.1",
    )
    go_repository(
        name = "com_google_cloud_go_apigateway",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/apigateway",
        sum = "h1:ehKUTy+QFsb3n07fEi18S2dpDDjCV4UlRyrbwfZV3Zk=",
        version = "v1.7.7",
    )
    go_repository(
        name = "com_google_cloud_go_apigeeconnect",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/apigeeconnect",
        sum = "h1:S6s2zojwMymx0fyZYKm0eK1TdDxrriIBAlNVvRAOzug=",
        version = "v1.7.7",
    )
    go_repository(
        name = "com_google_cloud_go_apigeeregistry",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/apigeeregistry",
        sum = "h1:QziFVsuPU2lhy40Ht9uWEyciV23SH9GETWiwcu3qzdg=",
        version = "v0.10.0",
    )
    go_repository(
        name = "com_google_cloud_go_appengine",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/appengine",
        sum = "h1:IxGz6j5xv0nTJX285wu95Vn6KEi2CeV9vbyRgCSEAoU=",
        version = "v1.9.7",
    )
    go_repository(
        name = "com_google_cloud_go_area120",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/area120",
        sum = "h1:8oNFb5jJZLh0/prs0yJiYJpIC5qDcQ8u+Mfhe30pSx0=",
        version = "v0.10.0",
    )
    go_repository(
        name = "com_google_cloud_go_artifactregistry",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/artifactregistry",
        sum = "h1:j/XQiQfaeTyQeNj3HNk4iDFREVnY/fxkHIjsxpaDs8A=",
        version = "v1.20.0",
    )
    go_repository(
        name = "com_google_cloud_go_asset",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/asset",
        sum = "h1:wimPPWu5gjBkPY1576vr+YxfoLKVhAK9zM2XrEpdKQ4=",
        version = "v1.22.1",
    )
    go_repository(
        name = "com_google_cloud_go_assuredworkloads",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/assuredworkloads",
        sum = "h1:NQXyyGLksPmiapE1Oc64a3cMwYIBAoDBg6cWR+B3eaY=",
        version = "v1.13.0",
    )
    go_repository(
        name = "com_google_cloud_go_auth",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/auth",
        sum = "h1:kXTssoVb4azsVDoUiF8KvxAqrsQcQtB53DcSgta74CA=",
        version = "v0.20.0",
    )
    go_repository(
        name = "com_google_cloud_go_auth_oauth2adapt",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/auth/oauth2adapt",
        sum = "h1:keo8NaayQZ6wimpNSmW5OPc283g65QNIiLpZnkHRbnc=",
        version = "v0.2.8",
    )
    go_repository(
        name = "com_google_cloud_go_automl",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/automl",
        sum = "h1:YRwLbsBv4yApX64pkrdyy4emhWE6lHEnljX4b1aTQC4=",
        version = "v1.15.0",
    )
    go_repository(
        name = "com_google_cloud_go_baremetalsolution",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/baremetalsolution",
        sum = "h1:g67fjVdrNCHZl8jDWdZvo+6zGTTMMuvNWO7HSgG8lnI=",
        version = "v1.4.0",
    )
    go_repository(
        name = "com_google_cloud_go_batch",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/batch",
        sum = "h1:r5DEMPNXZk1as36Le3DaNQTRhhnR+E95a99SFxwF52o=",
        version = "v1.14.0",
    )
    go_repository(
        name = "com_google_cloud_go_beyondcorp",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/beyondcorp",
        sum = "h1:mre997ya7QHFWSU+O5cT/FhBKTMy6Riqf1EXFxN46zw=",
        version = "v1.2.0",
    )
    go_repository(
        name = "com_google_cloud_go_bigquery",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/bigquery",
        sum = "h1:Q6bAMv+eyvufOpIrfrYxhM46qq1D3ZQTdgUDQqKS+n8=",
        version = "v1.74.0",
    )
    go_repository(
        name = "com_google_cloud_go_bigtable",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/bigtable",
        sum = "h1:SREvT4jLhJQZXUjsLmFs/1SMQJ+rKEj1cJuPE9liQs8=",
        version = "v1.42.0",
    )
    go_repository(
        name = "com_google_cloud_go_billing",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/billing",
        sum = "h1:nbQjTXkpgB/E4XnYZQwcZnR63QFsbFwJ9DGsNg61Ghg=",
        version = "v1.21.0",
    )
    go_repository(
        name = "com_google_cloud_go_binaryauthorization",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/binaryauthorization",
        sum = "h1:YYK0BwiZv9uA6z+Ict908AykX4OBfDECMTE476OnS3A=",
        version = "v1.10.0",
    )
    go_repository(
        name = "com_google_cloud_go_certificatemanager",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/certificatemanager",
        sum = "h1:v5X8X+THKrS9OFZb6k0GRDP1WQxLXTdMko7OInBliw4=",
        version = "v1.9.6",
    )
    go_repository(
        name = "com_google_cloud_go_channel",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/channel",
        sum = "h1:ThoAmHBd9WkX2SSuF6n6uEOvbBNoTuhBT7Rk6bFS5ho=",
        version = "v1.21.0",
    )
    go_repository(
        name = "com_google_cloud_go_cloudbuild",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/cloudbuild",
        sum = "h1:Fkg+iJdN7bfICZJzLr/XV+k9aVxXS/hakIlhjDIRIDw=",
        version = "v1.25.0",
    )
    go_repository(
        name = "com_google_cloud_go_clouddms",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/clouddms",
        sum = "h1:YWsmRXTyK6Ba0hm4qTBak5g1oLhryuM8rSBxHWC8iq4=",
        version = "v1.8.8",
    )
    go_repository(
        name = "com_google_cloud_go_cloudtasks",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/cloudtasks",
        sum = "h1:H2v8GEolNtMFfYzUpZBaZbydqU7drpyo99GtAgA+m4I=",
        version = "v1.13.7",
    )
    go_repository(
        name = "com_google_cloud_go_compute",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/compute",
        sum = "h1:4CKmnpO+40z44bKG5bdcKxQ7ocNpRtOc9SCLLUzze1w=",
        version = "v1.54.0",
    )
    go_repository(
        name = "com_google_cloud_go_compute_metadata",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/compute/metadata",
        sum = "h1:pDUj4QMoPejqq20dK0Pg2N4yG9zIkYGdBtwLoEkH9Zs=",
        version = "v0.9.0",
    )
    go_repository(
        name = "com_google_cloud_go_contactcenterinsights",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/contactcenterinsights",
        sum = "h1:wA4j99BhsoeYlLx6xEIqrNN1aOTtUme0wimHZegg80s=",
        version = "v1.17.4",
    )
    go_repository(
        name = "com_google_cloud_go_container",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/container",
        sum = "h1:xX94Lo3xrS5OkdMWKvpEVAbBwjN9uleVv6vOi02fL4s=",
        version = "v1.46.0",
    )
    go_repository(
        name = "com_google_cloud_go_containeranalysis",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/containeranalysis",
        sum = "h1:OW2dlMPtR5VnjQGyAP+uJlZahc1l+JFxFlH/J3+l7gw=",
        version = "v0.14.2",
    )
    go_repository(
        name = "com_google_cloud_go_datacatalog",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/datacatalog",
        sum = "h1:bCRKA8uSQN8wGW3Tw0gwko4E9a64GRmbW1nCblhgC2k=",
        version = "v1.26.1",
    )
    go_repository(
        name = "com_google_cloud_go_dataflow",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/dataflow",
        sum = "h1:Z+UYlGrE+IoB+5IAN4/qWdPKO0IpIK9bs2Dy40HK6lg=",
        version = "v0.11.1",
    )
    go_repository(
        name = "com_google_cloud_go_dataform",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/dataform",
        sum = "h1:z4nzTOqGSkJ5ePyJLQiUDTBsPHdokzvNNDhGebGQEUM=",
        version = "v0.13.0",
    )
    go_repository(
        name = "com_google_cloud_go_datafusion",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/datafusion",
        sum = "h1:tLCV+xYuOrSjdrRTkc9Cqsb5mBSQEsNfFmuTNYl5/rA=",
        version = "v1.8.7",
    )
    go_repository(
        name = "com_google_cloud_go_datalabeling",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/datalabeling",
        sum = "h1:wwoct7mw38s75XvEmLoItQ2TY0RFsGiRDb0iNbXUcX4=",
        version = "v0.9.7",
    )
    go_repository(
        name = "com_google_cloud_go_dataplex",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/dataplex",
        sum = "h1:rROI3iqMVI9nXT701ULoFRETQVAOAPC3mPSWFDxXFl0=",
        version = "v1.28.0",
    )
    go_repository(
        name = "com_google_cloud_go_dataproc_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/dataproc/v2",
        sum = "h1:0g2hnjlQ8SQTnNeu+Bqqa61QPssfSZF3t+9ldRmx+VQ=",
        version = "v2.16.0",
    )
    go_repository(
        name = "com_google_cloud_go_dataqna",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/dataqna",
        sum = "h1:3FREvU+sjaEHSjlKrKF6KjUmafdOvM8CbZ897rttxNs=",
        version = "v0.9.8",
    )
    go_repository(
        name = "com_google_cloud_go_datastore",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/datastore",
        sum = "h1:FOyx2Ag6ibD2wFkz9S8EiNrmBugia8pQOfpyJxi2yqA=",
        version = "v1.22.0",
    )
    go_repository(
        name = "com_google_cloud_go_datastream",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/datastream",
        sum = "h1:7PKeDpksi8nbOR4gspmNokzsr0q/uRzDIt20bR3BtRs=",
        version = "v1.15.1",
    )
    go_repository(
        name = "com_google_cloud_go_deploy",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/deploy",
        sum = "h1:QU8gLXsXDRqLyEWNrI6zJiVzuuOBX/WpMi4p0oexV+c=",
        version = "v1.27.3",
    )
    go_repository(
        name = "com_google_cloud_go_dialogflow",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/dialogflow",
        sum = "h1:hP9GY9TSVlZ277IGCPQjem9RW1PDtfYJw98DkRGt+t4=",
        version = "v1.76.0",
    )
    go_repository(
        name = "com_google_cloud_go_dlp",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/dlp",
        sum = "h1:+aMQYODOxCCZHpdzKvv/rIc9CbKd6XVmjVBRjaF8UvQ=",
        version = "v1.28.0",
    )
    go_repository(
        name = "com_google_cloud_go_documentai",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/documentai",
        sum = "h1:FErf7mEjf3TBGiwcXQCsLrQ3mUqryTKa09NiO1L8Y90=",
        version = "v1.42.0",
    )
    go_repository(
        name = "com_google_cloud_go_domains",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/domains",
        sum = "h1:G3kUq0vKBMhyOj5GqAfEYbVuez05U+ENHZUAtrEp/pI=",
        version = "v0.10.7",
    )
    go_repository(
        name = "com_google_cloud_go_edgecontainer",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/edgecontainer",
        sum = "h1:6KTQo6Qf0iEtfPVotlG7orazEO1I93Ham0PMlkHYpdQ=",
        version = "v1.4.4",
    )
    go_repository(
        name = "com_google_cloud_go_errorreporting",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/errorreporting",
        sum = "h1:uLcasn2hKpj6iSPvHrzRjkJcaNVaKx8yKQcP3VTS6aI=",
        version = "v0.4.0",
    )
    go_repository(
        name = "com_google_cloud_go_essentialcontacts",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/essentialcontacts",
        sum = "h1:v9sO4IHFuwplaOuDnEXZFtfOrjw2bi11TSIVp5PnAU4=",
        version = "v1.7.7",
    )
    go_repository(
        name = "com_google_cloud_go_eventarc",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/eventarc",
        sum = "h1:8WWG1/ogInYur1NQjML6EMHQ0ZBzAdMDGlUVpLD56cI=",
        version = "v1.18.0",
    )
    go_repository(
        name = "com_google_cloud_go_filestore",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/filestore",
        sum = "h1:3KZifUVTqGhNNv6MLeONYth1HjlVM4vDhaH+xrdPljU=",
        version = "v1.10.3",
    )
    go_repository(
        name = "com_google_cloud_go_firestore",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/firestore",
        sum = "h1:BhopUsx7kh6NFx77ccRsHhrtkbJUmDAxNY3uapWdjcM=",
        version = "v1.21.0",
    )
    go_repository(
        name = "com_google_cloud_go_functions",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/functions",
        sum = "h1:7LcOD18euIVGRUPaeCmgO6vfWSLNIsi6STWRQcdANG8=",
        version = "v1.19.7",
    )
    go_repository(
        name = "com_google_cloud_go_gkebackup",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/gkebackup",
        sum = "h1:gUgI3lZJYALZsHXE7YJOKI8bMpoAX/tF6jnNugvzT1g=",
        version = "v1.8.1",
    )
    go_repository(
        name = "com_google_cloud_go_gkeconnect",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/gkeconnect",
        sum = "h1:EFql3zRaFw74yATt5lf+mcPDqPZ4EeLvoIJ+0NaEkag=",
        version = "v0.12.5",
    )
    go_repository(
        name = "com_google_cloud_go_gkehub",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/gkehub",
        sum = "h1:Jk5pAXG54FlQzTRXhuKyym/NzOgS8oWRs0XNatZYDf4=",
        version = "v0.16.0",
    )
    go_repository(
        name = "com_google_cloud_go_gkemulticloud",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/gkemulticloud",
        sum = "h1:m0FX9o7t7xVmSZhqzm/m8nEZn8LnC5Kh60Wg4Yx1lyQ=",
        version = "v1.6.0",
    )
    go_repository(
        name = "com_google_cloud_go_gsuiteaddons",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/gsuiteaddons",
        sum = "h1:Dayrv57XW8kZIvmQjAc89Tp7Kr3O9Am/hf6pXkTjYFY=",
        version = "v1.7.8",
    )
    go_repository(
        name = "com_google_cloud_go_iam",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/iam",
        sum = "h1:+vMINPiDF2ognBJ97ABAYYwRgsaqxPbQDlMnbHMjolc=",
        version = "v1.5.3",
    )
    go_repository(
        name = "com_google_cloud_go_iap",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/iap",
        sum = "h1:Nheb77nO0/pECm/thoE3wHVAbkQSI+G8KBWviqBepiA=",
        version = "v1.11.3",
    )
    go_repository(
        name = "com_google_cloud_go_ids",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/ids",
        sum = "h1:V0pSk+KKW+5/AVpeQMhM9D1VI7aMZkayj5jddNETJos=",
        version = "v1.5.7",
    )
    go_repository(
        name = "com_google_cloud_go_iot",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/iot",
        sum = "h1:PDUtxCzlFwFHODEFAgaGJy/Zv4tdvLbZ+lvZ1mKQXE4=",
        version = "v1.8.7",
    )
    go_repository(
        name = "com_google_cloud_go_kms",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/kms",
        sum = "h1:cK9mN2cf+9V63D3H1f6koxTatWy39aTI/hCjz1I+adU=",
        version = "v1.26.0",
    )
    go_repository(
        name = "com_google_cloud_go_language",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/language",
        sum = "h1:/0Fbd3/T4oNmpPqIq5/hrWdHc/eoYGtVH5lDNkuHH3k=",
        version = "v1.14.6",
    )
    go_repository(
        name = "com_google_cloud_go_lifesciences",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/lifesciences",
        sum = "h1:MO5aBahcYv7JeuCpHbg/11h7KL/BYt1+PpgHhleLDbI=",
        version = "v0.10.7",
    )
    go_repository(
        name = "com_google_cloud_go_logging",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/logging",
        sum = "h1:qqlHCBvieJT9Cdq4QqYx1KPadCQ2noD4FK02eNqHAjA=",
        version = "v1.13.2",
    )
    go_repository(
        name = "com_google_cloud_go_longrunning",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/longrunning",
        sum = "h1:LiKK77J3bx5gDLi4SMViHixjD2ohlkwBi+mKA7EhfW8=",
        version = "v0.8.0",
    )
    go_repository(
        name = "com_google_cloud_go_managedidentities",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/managedidentities",
        sum = "h1:vC/q7D+97PZfb0UNf7r/+/clHauuaf1PqWwP7neuaeg=",
        version = "v1.7.7",
    )
    go_repository(
        name = "com_google_cloud_go_maps",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/maps",
        sum = "h1:iAlFpnckCAshFpmHPDUYpasXn0pH4OVMDfkb3jB/fDQ=",
        version = "v1.29.0",
    )
    go_repository(
        name = "com_google_cloud_go_mediatranslation",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/mediatranslation",
        sum = "h1:JXbjms+JxgaWkj/YuaQm1OeCzuF+IZCDV17uUcZgFOU=",
        version = "v0.9.7",
    )
    go_repository(
        name = "com_google_cloud_go_memcache",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/memcache",
        sum = "h1:ZDIfIMZsKKPzwdbvTMOL1il0shX24J7B9DC+sEt4Yj4=",
        version = "v1.11.7",
    )
    go_repository(
        name = "com_google_cloud_go_metastore",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/metastore",
        sum = "h1:nfyUDD9AeKIs6btY5buQ1No0OVco20WpX9wIruL8UOA=",
        version = "v1.14.8",
    )
    go_repository(
        name = "com_google_cloud_go_monitoring",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/monitoring",
        sum = "h1:dde+gMNc0UhPZD1Azu6at2e79bfdztVDS5lvhOdsgaE=",
        version = "v1.24.3",
    )
    go_repository(
        name = "com_google_cloud_go_networkconnectivity",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/networkconnectivity",
        sum = "h1:WS5XTNWyLODLO5YmftQmDIZtAa2DYYmRf/neRCLIWHA=",
        version = "v1.21.0",
    )
    go_repository(
        name = "com_google_cloud_go_networkmanagement",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/networkmanagement",
        sum = "h1:PiteUY9H2u+wMgT1dQjD93PKI90o10RgL8+OhUov970=",
        version = "v1.23.0",
    )
    go_repository(
        name = "com_google_cloud_go_networksecurity",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/networksecurity",
        sum = "h1:+ahtCqEqwHw3a3UIeG21vT817xt9kkDDAO6k9+LCc18=",
        version = "v0.11.0",
    )
    go_repository(
        name = "com_google_cloud_go_notebooks",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/notebooks",
        sum = "h1:g5LTI1LHa/86abDTWd8nrq7/4qq8oFhVx1SmnNpZLVg=",
        version = "v1.12.7",
    )
    go_repository(
        name = "com_google_cloud_go_optimization",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/optimization",
        sum = "h1:dMtxINB6G7wULbdm8nZ/x1NMa579Q+GfJc5gaN8VeDw=",
        version = "v1.7.7",
    )
    go_repository(
        name = "com_google_cloud_go_orchestration",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/orchestration",
        sum = "h1:TVWDiZyvcflLFeTQH2GexHmtJ6iUSjzr0zsSiT338dA=",
        version = "v1.11.10",
    )
    go_repository(
        name = "com_google_cloud_go_orgpolicy",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/orgpolicy",
        sum = "h1:0hq12wxNwcfUMojr5j3EjWECSInIuyYDhkAWXTomRhc=",
        version = "v1.15.1",
    )
    go_repository(
        name = "com_google_cloud_go_osconfig",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/osconfig",
        sum = "h1:0L635e0OSdWylzE/v40Riko6p142PVmWL8Rt+9fbPO4=",
        version = "v1.16.0",
    )
    go_repository(
        name = "com_google_cloud_go_oslogin",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/oslogin",
        sum = "h1:YQ8P/+MLwH0tpENYU9QOgwKQxe8DYfAKxIfm6y+OBtA=",
        version = "v1.14.7",
    )
    go_repository(
        name = "com_google_cloud_go_phishingprotection",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/phishingprotection",
        sum = "h1:ZJqHirY2/H6s+uTq1y1iiVASzm3ZuDiMglT5NXywPBE=",
        version = "v0.9.7",
    )
    go_repository(
        name = "com_google_cloud_go_policytroubleshooter",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/policytroubleshooter",
        sum = "h1:Bbj1EiVh96u9mfO2p+JNoHrvvyC0Ms6zP+vxqQnsaG8=",
        version = "v1.11.7",
    )
    go_repository(
        name = "com_google_cloud_go_privatecatalog",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/privatecatalog",
        sum = "h1:yOdy85WDvSCPxAMixkhs5X0Z96D74kosgOTp7aJEYvU=",
        version = "v0.10.8",
    )
    go_repository(
        name = "com_google_cloud_go_pubsub",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/pubsub",
        sum = "h1:fzbXpPyJnSGvWXF1jabhQeXyxdbCIkXTpjXHy7xviBM=",
        version = "v1.50.1",
    )
    go_repository(
        name = "com_google_cloud_go_pubsub_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/pubsub/v2",
        sum = "h1:0qS6mRJ41gD1lNmM/vdm6bR7DQu6coQcVwD+VPf0Bz0=",
        version = "v2.0.0",
    )
    go_repository(
        name = "com_google_cloud_go_pubsublite",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/pubsublite",
        sum = "h1:jLQozsEVr+c6tOU13vDugtnaBSUy/PD5zK6mhm+uF1Y=",
        version = "v1.8.2",
    )
    go_repository(
        name = "com_google_cloud_go_recaptchaenterprise_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/recaptchaenterprise/v2",
        sum = "h1:zHaPdgmV3LmzaUfn9Xiiqp5zE1Y16f0O8XCwERrAs2E=",
        version = "v2.21.0",
    )
    go_repository(
        name = "com_google_cloud_go_recommendationengine",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/recommendationengine",
        sum = "h1:NH89CyKQP8e98kpdKLwV0jXkQGzSEEZia0V867vkoy8=",
        version = "v0.9.7",
    )
    go_repository(
        name = "com_google_cloud_go_recommender",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/recommender",
        sum = "h1:ZVZg4wr1G7yzjIPcYUNSUJAaz9+2o78rmBU4QJgC7kg=",
        version = "v1.13.6",
    )
    go_repository(
        name = "com_google_cloud_go_redis",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/redis",
        sum = "h1:6LI8zSt+vmE3WQ7hE5GsJ13CbJBLV1qUw6B7CY31Wcw=",
        version = "v1.18.3",
    )
    go_repository(
        name = "com_google_cloud_go_resourcemanager",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/resourcemanager",
        sum = "h1:oPZKIdjyVTuag+D4HF7HO0mnSqcqgjcuA18xblwA0V0=",
        version = "v1.10.7",
    )
    go_repository(
        name = "com_google_cloud_go_resourcesettings",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/resourcesettings",
        sum = "h1:13HOFU7v4cEvIHXSAQbinF4wp2Baybbq7q9FMctg1Ek=",
        version = "v1.8.3",
    )
    go_repository(
        name = "com_google_cloud_go_retail",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/retail",
        sum = "h1:yOoyJs/IlLmohXzgDgF9N8xQYbJKIKtCw4oGAoYZpNY=",
        version = "v1.26.0",
    )
    go_repository(
        name = "com_google_cloud_go_run",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/run",
        sum = "h1:4cwyNv9SUQEsQOf5/DfPKyMWYSA52p38/o119BgMhO4=",
        version = "v1.15.0",
    )
    go_repository(
        name = "com_google_cloud_go_scheduler",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/scheduler",
        sum = "h1:BoXY2BvBsaRw3ggVMzC9tborZqJBu+NcJcD9PqeC5Kc=",
        version = "v1.11.8",
    )
    go_repository(
        name = "com_google_cloud_go_secretmanager",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/secretmanager",
        sum = "h1:19QT7ZsLJ8FSP1k+4esQvuCD7npMJml6hYzilxVyT+k=",
        version = "v1.16.0",
    )
    go_repository(
        name = "com_google_cloud_go_security",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/security",
        sum = "h1:cF3FkCRRbRC1oXuaGZFl3qU2sdu2gP3iOAHKzL5y04Y=",
        version = "v1.19.2",
    )
    go_repository(
        name = "com_google_cloud_go_securitycenter",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/securitycenter",
        sum = "h1:D9zpeguY4frQU35GBw8+M6Gw79CiuTF9iVs4sFm3FDY=",
        version = "v1.38.1",
    )
    go_repository(
        name = "com_google_cloud_go_servicedirectory",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/servicedirectory",
        sum = "h1:je2yZlVcVFI/TshPXjjF9ZAlWedj0s5EbO2kozJrzBo=",
        version = "v1.12.7",
    )
    go_repository(
        name = "com_google_cloud_go_shell",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/shell",
        sum = "h1:K1C9sh9EuNNhGpyCoqRdeudcU9zmfYTA95bhF5cokK8=",
        version = "v1.8.7",
    )
    go_repository(
        name = "com_google_cloud_go_spanner",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/spanner",
        sum = "h1:HS+5TuEYZOVOXj9K+0EtrbTw7bKBLrMe3vgGsbnehmU=",
        version = "v1.88.0",
    )
    go_repository(
        name = "com_google_cloud_go_speech",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/speech",
        sum = "h1:R+KGIbRMrj8jA4U6Qea8hqCMsAEdg576ShNsmRr4gcQ=",
        version = "v1.30.0",
    )
    go_repository(
        name = "com_google_cloud_go_storagetransfer",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/storagetransfer",
        sum = "h1:Sjukr1LtUt7vLTHNvGc2gaAqlXNFeDFRIRmWGrFaJlY=",
        version = "v1.13.1",
    )
    go_repository(
        name = "com_google_cloud_go_talent",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/talent",
        sum = "h1:1kJJ+WCY5LZ1A4rCa32zKh3N2xT3I8koiS63+vV0WC4=",
        version = "v1.8.4",
    )
    go_repository(
        name = "com_google_cloud_go_texttospeech",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/texttospeech",
        sum = "h1:Ra4w+6qmaeb12ozlPBqGw8Jzdge1yfzhvZgcXWdXw30=",
        version = "v1.16.0",
    )
    go_repository(
        name = "com_google_cloud_go_tpu",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/tpu",
        sum = "h1:5DDheA1f7yZ/KUbVT/9lL+Yhgd3IqHDSVVrSqDVkAFY=",
        version = "v1.8.4",
    )
    go_repository(
        name = "com_google_cloud_go_trace",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/trace",
        sum = "h1:kDNDX8JkaAG3R2nq1lIdkb7FCSi1rCmsEtKVsty7p+U=",
        version = "v1.11.7",
    )
    go_repository(
        name = "com_google_cloud_go_translate",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/translate",
        sum = "h1:aSxMbfJ3MVmEdQzu5jGXmPPxCAb1ySsor2yBMCI5MT4=",
        version = "v1.12.7",
    )
    go_repository(
        name = "com_google_cloud_go_video",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/video",
        sum = "h1:Hp+2AeM7b3AagdHcyh2820UTzSbGyqpFJVMu0nHbBcw=",
        version = "v1.27.1",
    )
    go_repository(
        name = "com_google_cloud_go_videointelligence",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/videointelligence",
        sum = "h1:FisUrSZ+y3oLuGdlFQQgZoNTDm7FAfb2hwSTsSqX+9g=",
        version = "v1.12.7",
    )
    go_repository(
        name = "com_google_cloud_go_vision_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/vision/v2",
        sum = "h1:9UtOINPF8p9VACQ6KAyR/ZtkpuBHGmJsprutYupDcN0=",
        version = "v2.9.6",
    )
    go_repository(
        name = "com_google_cloud_go_vmmigration",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/vmmigration",
        sum = "h1:6AvttGxASQTiuIsNKUKOKsRiQG4qTMOY4KMyBhdZa1w=",
        version = "v1.10.0",
    )
    go_repository(
        name = "com_google_cloud_go_vmwareengine",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/vmwareengine",
        sum = "h1:TKvULKbk44QrIx674cnoVjcZueXhyCAm2sNAJu/S1ds=",
        version = "v1.3.6",
    )
    go_repository(
        name = "com_google_cloud_go_vpcaccess",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/vpcaccess",
        sum = "h1:K6siDR1T4HgSTv6sy6CAwupY7UGza6TQ1O8jtvEYoX4=",
        version = "v1.8.7",
    )
    go_repository(
        name = "com_google_cloud_go_webrisk",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/webrisk",
        sum = "h1:q6zEdVgD8Ka+4fQl3azDcSNRug8clNnQ9iVS2iLh+MM=",
        version = "v1.11.2",
    )
    go_repository(
        name = "com_google_cloud_go_websecurityscanner",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/websecurityscanner",
        sum = "h1:udhvvDDRryM3nrITJk/eQe74D06KK2N3SF60/FH2njQ=",
        version = "v1.7.7",
    )
    go_repository(
        name = "com_google_cloud_go_workflows",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cloud.google.com/go/workflows",
        sum = "h1:FGF6QEl3rtOSIHPOMZofWRVy3KNx26jDdgoYzJZ6ZhY=",
        version = "v1.14.3",
    )
    go_repository(
        name = "dev_cel_expr",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "cel.dev/expr",
        sum = "h1:K6j46C81hXtZQfuX60cVWQFBJahKSE2gfRbNuvr5bFs=",
        version = "v0.25.2",
    )
    go_repository(
        name = "ht_sr_git_sbinet_cmpimg",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "git.sr.ht/~sbinet/cmpimg",
        sum = "h1:E0zPRk2muWuCqSKSVZIWsgtU9pjsw3eKHi8VmQeScxo=",
        version = "v0.1.0",
    )
    go_repository(
        name = "ht_sr_git_sbinet_gg",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "git.sr.ht/~sbinet/gg",
        sum = "h1:YmNf7YKd7diDMTPm86hZa1EM3pbkOyD/zzjl0LZUdNM=",
        version = "v0.7.0",
    )
    go_repository(
        name = "in_gopkg_check_v1",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "gopkg.in/check.v1",
        sum = "h1:Hei/4ADfdWqJk1ZMxUNpqntNwaWcugrBjAiHlqqRiVk=",
        version = "v1.0.0-20201130134442-10cb98267c6c",
    )
    go_repository(
        name = "in_gopkg_errgo_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "gopkg.in/errgo.v2",
        sum = "h1:0vLT13EuvQ0hNvakwLuFZ/jYrLp5F3kcWHXdRggjCE8=",
        version = "v2.1.0",
    )
    go_repository(
        name = "in_gopkg_evanphx_json_patch_v4",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "gopkg.in/evanphx/json-patch.v4",
        sum = "h1:czT3CmqEaQ1aanPc5SdlgQrrEIb8w/wwCvWWnfEbYzo=",
        version = "v4.13.0",
    )
    go_repository(
        name = "in_gopkg_inf_v0",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "gopkg.in/inf.v0",
        sum = "h1:73M5CoZyi3ZLMOyDlQh031Cx6N9NDJ2Vvfl76EDAgDc=",
        version = "v0.9.1",
    )
    go_repository(
        name = "in_gopkg_natefinch_lumberjack_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "gopkg.in/natefinch/lumberjack.v2",
        sum = "h1:bBRl1b0OH9s/DuPhuXpNl+VtCaJXFZ5/uEFST95x9zc=",
        version = "v2.2.1",
    )
    go_repository(
        name = "in_gopkg_yaml_v3",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "gopkg.in/yaml.v3",
        sum = "h1:fxVm/GzAzEWqLHuvctI91KS9hhNmmWOoWu0XTYJS7CA=",
        version = "v3.0.1",
    )
    go_repository(
        name = "in_yaml_go_yaml_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.yaml.in/yaml/v2",
        sum = "h1:tuyd0P+2Ont/d6e2rl3be67goVK4R6deVxCUX5vyPaQ=",
        version = "v2.4.4",
    )
    go_repository(
        name = "in_yaml_go_yaml_v3",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.yaml.in/yaml/v3",
        sum = "h1:tfq32ie2Jv2UxXFdLJdh3jXuOzWiL1fo0bu/FbuKpbc=",
        version = "v3.0.4",
    )
    go_repository(
        name = "io_etcd_go_bbolt",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.etcd.io/bbolt",
        sum = "h1:S7GAl7Fxv12yohbwFfIbQCGDWbQbtDGPET4P/bD4lxU=",
        version = "v1.5.0",
    )
    go_repository(
        name = "io_etcd_go_etcd_api_v3",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.etcd.io/etcd/api/v3",
        sum = "h1:2tumepXe+wi7Wab64uUO71K7ISQyUWLGC1DJbbc59sY=",
        version = "v3.7.3",
    )
    go_repository(
        name = "io_etcd_go_etcd_client_pkg_v3",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.etcd.io/etcd/client/pkg/v3",
        sum = "h1:5zMwNu3ycrzCeA5NwOfQbxFRhqq974chq1DrYMua4QI=",
        version = "v3.7.3",
    )
    go_repository(
        name = "io_etcd_go_etcd_client_v3",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.etcd.io/etcd/client/v3",
        sum = "h1:UrXcetgkuSEocaBlQlulQRJlXLEnUAHuBRbHh0lue1Q=",
        version = "v3.7.3",
    )
    go_repository(
        name = "io_etcd_go_etcd_pkg_v3",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.etcd.io/etcd/pkg/v3",
        sum = "h1:FoxH2JLECo/PYEHilgBFqz7Zlyiv5Sd20OlOOYESUos=",
        version = "v3.7.3",
    )
    go_repository(
        name = "io_etcd_go_etcd_server_v3",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.etcd.io/etcd/server/v3",
        sum = "h1:KcTZ/aEZrOiQe0/kdr7iYYcvyfbEoOwDOacHkz8xwZc=",
        version = "v3.7.3",
    )
    go_repository(
        name = "io_etcd_go_gofail",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.etcd.io/gofail",
        sum = "h1:p19drv16FKK345a09a1iubchlw/vmRuksmRzgBIGjcA=",
        version = "v0.2.0",
    )
    go_repository(
        name = "io_etcd_go_raft_v3",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.etcd.io/raft/v3",
        sum = "h1:BGzlwx07bLv8PW6OU5HObuz1y4hlPZUXA07pM1mPUh4=",
        version = "v3.7.0",
    )
    go_repository(
        name = "io_k8s_api",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "k8s.io/api",
        sum = "h1:PnxqnUFy93jr2GcpWDkKOm8wfy25kT9wa572MuQS8oc=",
        version = "v0.37.2",
    )
    go_repository(
        name = "io_k8s_apimachinery",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "k8s.io/apimachinery",
        sum = "h1:G4t9RGoPDbQML38hz/kQQiltttgd3egg2ODCR8aIc2o=",
        version = "v0.37.2",
    )
    go_repository(
        name = "io_k8s_gengo_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "k8s.io/gengo/v2",
        sum = "h1:gMplByicHV/TJBizHd9aVEsTYoJBnnUAT5MHlTkbjhQ=",
        version = "v2.0.0-20250922181213-ec3ebc5fd46b",
    )
    go_repository(
        name = "io_k8s_klog_v2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "k8s.io/klog/v2",
        sum = "h1:Tf+J3AH7xnUzZyVVXhTgGhEKnFqye14aadWv7bzXdzc=",
        version = "v2.140.0",
    )
    go_repository(
        name = "io_k8s_kube_openapi",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "k8s.io/kube-openapi",
        sum = "h1:oXImqH8mQNk7PmvzKhmN3ddJoY6OnyM225MXwGHPm0A=",
        version = "v0.0.0-20260721132016-d427ff9ee9ad",
    )
    go_repository(
        name = "io_k8s_sigs_json",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "sigs.k8s.io/json",
        sum = "h1:IpInykpT6ceI+QxKBbEflcR5EXP7sU1kvOlxwZh5txg=",
        version = "v0.0.0-20250730193827-2d320260d730",
    )
    go_repository(
        name = "io_k8s_sigs_randfill",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "sigs.k8s.io/randfill",
        sum = "h1:JfjMILfT8A6RbawdsK2JXGBR5AQVfd+9TbzrlneTyrU=",
        version = "v1.0.0",
    )
    go_repository(
        name = "io_k8s_sigs_structured_merge_diff_v6",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "sigs.k8s.io/structured-merge-diff/v6",
        sum = "h1:qdOxHwrl2Kaag1aQEarlYcOA9vSyGCp3CIki3aW8c4Q=",
        version = "v6.4.2",
    )
    go_repository(
        name = "io_k8s_sigs_yaml",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "sigs.k8s.io/yaml",
        sum = "h1:G8fkbMSAFqgEFgh4b1wmtzDnioxFCUgTZhlbj5P9QYs=",
        version = "v1.6.0",
    )
    go_repository(
        name = "io_k8s_streaming",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "k8s.io/streaming",
        sum = "h1:xmzp9nbqIbjvsRcqrBYa+K5XPQ6Jy/Dm3zZ8mN916AI=",
        version = "v0.37.2",
    )
    go_repository(
        name = "io_k8s_utils",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "k8s.io/utils",
        sum = "h1:Ea7fgQ5we8Y9T0OX5o0dAHzQOBRI07D/dEYRaB9ZZEs=",
        version = "v0.0.0-20260626114624-be93311217bd",
    )
    go_repository(
        name = "io_opencensus_go",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.opencensus.io",
        sum = "h1:y73uSU6J157QMP2kn2r30vwW1A2W2WFwSCGnAVxeaD0=",
        version = "v0.24.0",
    )
    go_repository(
        name = "io_opentelemetry_go_auto_sdk",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.opentelemetry.io/auto/sdk",
        sum = "h1:jXsnJ4Lmnqd11kwkBV2LgLoFMZKizbCi5fNZ/ipaZ64=",
        version = "v1.2.1",
    )
    go_repository(
        name = "io_opentelemetry_go_contrib_detectors_gcp",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.opentelemetry.io/contrib/detectors/gcp",
        sum = "h1:NmLfL734pJhM0JKaYd2Y28+nY9dPRWYAAbxhRCrKXPw=",
        version = "v1.44.0",
    )
    go_repository(
        name = "io_opentelemetry_go_contrib_instrumentation_google_golang_org_grpc_otelgrpc",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
        sum = "h1:0Qx7VGBacMm9ZENQ7TnNObTYI4ShC+lHI16seduaxZo=",
        version = "v0.68.0",
    )
    go_repository(
        name = "io_opentelemetry_go_contrib_instrumentation_net_http_otelhttp",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
        sum = "h1:8tvICD4vSTOOsNrsI4Ljf6C+6UKvpTEH5XY3JMoyPoo=",
        version = "v0.69.0",
    )
    go_repository(
        name = "io_opentelemetry_go_otel",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.opentelemetry.io/otel",
        sum = "h1:pdrWmLHofpubmArBv1LgFSv1Z0Ie/ppdZzu+kUN5EeU=",
        version = "v1.45.0",
    )
    go_repository(
        name = "io_opentelemetry_go_otel_exporters_otlp_otlptrace",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.opentelemetry.io/otel/exporters/otlp/otlptrace",
        sum = "h1:QRefszxJmfPdjXUUm3j6iDzY03mTPXMjqErFqQ67vUg=",
        version = "v1.45.0",
    )
    go_repository(
        name = "io_opentelemetry_go_otel_exporters_otlp_otlptrace_otlptracegrpc",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc",
        sum = "h1:fG5MCxGz8+2VtrN/WgqSpJFctVz24gpxj8CxkKmc8Ww=",
        version = "v1.45.0",
    )
    go_repository(
        name = "io_opentelemetry_go_otel_metric",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.opentelemetry.io/otel/metric",
        sum = "h1:7Eg1uH7CJ5cXv9is6tnBe1FI6rj1nwUdbFypRm3br/M=",
        version = "v1.45.0",
    )
    go_repository(
        name = "io_opentelemetry_go_otel_sdk",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.opentelemetry.io/otel/sdk",
        sum = "h1:4VVSMgQ83dUgW2aoX5f6JgLvHwIvzcuLnF9lUdCSpCw=",
        version = "v1.45.0",
    )
    go_repository(
        name = "io_opentelemetry_go_otel_sdk_metric",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.opentelemetry.io/otel/sdk/metric",
        sum = "h1:oVFszMfyj1Am6s24Vtc7wBb8BKLcwepJjNEYILuiE3o=",
        version = "v1.45.0",
    )
    go_repository(
        name = "io_opentelemetry_go_otel_trace",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.opentelemetry.io/otel/trace",
        sum = "h1:l/mP6Uv7oNO7/TblbhpbgMidxhq1uO/rPsikOyVhxag=",
        version = "v1.45.0",
    )
    go_repository(
        name = "io_opentelemetry_go_proto_otlp",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.opentelemetry.io/proto/otlp",
        sum = "h1:5rrYs0Ykyj50sdU/JU0x8etU+LubXWb+gED6TbEdMIk=",
        version = "v1.11.0",
    )
    go_repository(
        name = "io_rsc_pdf",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "rsc.io/pdf",
        sum = "h1:k1MczvYDUvJBe93bYd7wrZLLUEcLZAuF824/I4e5Xr4=",
        version = "v0.1.1",
    )
    go_repository(
        name = "org_codeberg_go_fonts_dejavu",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "codeberg.org/go-fonts/dejavu",
        sum = "h1:2yn58Vkh4CFK3ipacWUAIE3XVBGNa0y1bc95Bmfx91I=",
        version = "v0.4.0",
    )
    go_repository(
        name = "org_codeberg_go_fonts_latin_modern",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "codeberg.org/go-fonts/latin-modern",
        sum = "h1:vkRCc1y3whKA7iL9Ep0fSGVuJfqjix0ica9UflHORO8=",
        version = "v0.4.0",
    )
    go_repository(
        name = "org_codeberg_go_fonts_liberation",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "codeberg.org/go-fonts/liberation",
        sum = "h1:SsKoMO1v1OZmzkG2DY+7ZkCL9U+rrWI09niOLfQ5Bo0=",
        version = "v0.5.0",
    )
    go_repository(
        name = "org_codeberg_go_fonts_stix",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "codeberg.org/go-fonts/stix",
        sum = "h1:vHI1LmLWEcAdcf+5aRMtA1eYKJJ9ZjetVstBD/dRe1Q=",
        version = "v0.3.0",
    )
    go_repository(
        name = "org_codeberg_go_latex_latex",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "codeberg.org/go-latex/latex",
        sum = "h1:Ol/a6VHY06N+5gPfewswymoRb5ZcKDXWVaVegcx4hbI=",
        version = "v0.2.0",
    )
    go_repository(
        name = "org_codeberg_go_pdf_fpdf",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "codeberg.org/go-pdf/fpdf",
        sum = "h1:U8+coOTDVLxHIXZgGvkfQEi/q0hYHYvEHFuGNX2GzGs=",
        version = "v0.11.1",
    )
    go_repository(
        name = "org_golang_google_api",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "google.golang.org/api",
        sum = "h1:W7jiRvRi53VYFfZ/HoZjQBtJk7gOFbHD8ot1RzVZU6E=",
        version = "v0.278.0",
    )
    go_repository(
        name = "org_golang_google_appengine",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "google.golang.org/appengine",
        sum = "h1:IhEN5q69dyKagZPYMSdIjS2HqprW324FRQZJcGqPAsM=",
        version = "v1.6.8",
    )
    go_repository(
        name = "org_golang_google_genproto",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "google.golang.org/genproto",
        sum = "h1:XzmzkmB14QhVhgnawEVsOn6OFsnpyxNPRY9QV01dNB0=",
        version = "v0.0.0-20260319201613-d00831a3d3e7",
    )
    go_repository(
        name = "org_golang_google_genproto_googleapis_api",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "google.golang.org/genproto/googleapis/api",
        sum = "h1:FarXi840EJWSHYTN3ERkADbPWjl307+FGrA22KAVjjc=",
        version = "v0.0.0-20260803160001-6ac0973c030d",
    )
    go_repository(
        name = "org_golang_google_genproto_googleapis_bytestream",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "google.golang.org/genproto/googleapis/bytestream",
        sum = "h1:vZSynqmtxmRfYL0QaV3UUWE/8BC6aqyIx+D+enkxybM=",
        version = "v0.0.0-20260427160629-7cedc36a6bc4",
    )
    go_repository(
        name = "org_golang_google_genproto_googleapis_rpc",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "google.golang.org/genproto/googleapis/rpc",
        sum = "h1:IL4hdHzcUv2l/gcg98/Rj3FbtE6axwqslOW8SW0C+S0=",
        version = "v0.0.0-20260803160001-6ac0973c030d",
    )
    go_repository(
        name = "org_golang_google_grpc",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "google.golang.org/grpc",
        sum = "h1:soMyaPJ8pAak5PIQ0DGBUir0XRo2fRoMqhNWMLlLxO0=",
        version = "v1.84.0",
    )
    go_repository(
        name = "org_golang_google_grpc_examples",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "google.golang.org/grpc/examples",
        sum = "h1:ExN12ndbJ608cboPYflpTny6mXSzPrDLh0iTaVrRrds=",
        version = "v0.0.0-20250407062114-b368379ef8f6",
    )
    go_repository(
        name = "org_golang_google_protobuf",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "google.golang.org/protobuf",
        sum = "h1:pJOKDDOyeXErUroCihFAd5LQuwXBSpVnKGrj5o/fwxc=",
        version = "v1.36.12",
    )
    go_repository(
        name = "org_golang_x_arch",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/arch",
        sum = "h1:z9JUEZWr8x4rR0OU6c4/4t6E6jOZ8/QBS2bBYBm4tx4=",
        version = "v0.14.0",
    )
    go_repository(
        name = "org_golang_x_crypto",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/crypto",
        sum = "h1:COkYLr4k7nDI4r6QtMML2AfzeIswWHAJthLS6K/M/54=",
        version = "v0.58.0",
    )
    go_repository(
        name = "org_golang_x_exp",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/exp",
        sum = "h1:aAcj0Da7eBAtrTp03QXWvm88pSyOt+UgdZw2BFZ+lEw=",
        version = "v0.0.0-20240325151524-a685a6edb6d8",
    )
    go_repository(
        name = "org_golang_x_image",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/image",
        sum = "h1:jD5RhkmVAnjqaCUXfbGBrn3lpxbknfN9w2UhHHU+5B4=",
        version = "v0.30.0",
    )
    go_repository(
        name = "org_golang_x_lint",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/lint",
        sum = "h1:XQyxROzUlZH+WIQwySDgnISgOivlhjIEwaQaJEJrrN0=",
        version = "v0.0.0-20190313153728-d0100b6bd8b3",
    )
    go_repository(
        name = "org_golang_x_mod",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/mod",
        sum = "h1:qJmnOUb4YB+FsEuM3HcWucdZASCPGhsX6uljO6pog0c=",
        version = "v0.41.0",
    )
    go_repository(
        name = "org_golang_x_net",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/net",
        sum = "h1:RR+6j/BTBCrggOLugxa+66R8FvoN6MHlzDlZIbN9YFw=",
        version = "v0.61.0",
    )
    go_repository(
        name = "org_golang_x_oauth2",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/oauth2",
        sum = "h1:peZ/1z27fi9hUOFCAZaHyrpWG5lwe0RJEEEeH0ThlIs=",
        version = "v0.36.0",
    )
    go_repository(
        name = "org_golang_x_perf",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/perf",
        sum = "h1:stGRioFgvBd3x8HoGVg9bb41lLTWLjBMFT/dMB7f4mQ=",
        version = "v0.0.0-20250813145418-2f7363a06fe1",
    )
    go_repository(
        name = "org_golang_x_sync",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/sync",
        sum = "h1:iqiDrGoDgyuvAKrhLQthUEzU/R378N78gXbBjxed7oA=",
        version = "v0.24.0",
    )
    go_repository(
        name = "org_golang_x_sys",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/sys",
        sum = "h1:dkKZEFTEKaLr1sjhs0WiKqoi8Jj5nHbS3Njmx1UoMJs=",
        version = "v0.50.0",
    )
    go_repository(
        name = "org_golang_x_term",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/term",
        sum = "h1:cpyOwQkr2Nzxe2p6KnrTG7Ei2wtzjsuSjhpXXepZ/BM=",
        version = "v0.47.0",
    )
    go_repository(
        name = "org_golang_x_text",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/text",
        sum = "h1:1QivrlhwAsnMOcqgOdl9my7s9OyZl8O5/UGUTJVXoWc=",
        version = "v0.43.0",
    )
    go_repository(
        name = "org_golang_x_time",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/time",
        sum = "h1:vMb6ptszcQMkcwiRTAuNNU50gom6++Q/6gY2hDM6VDE=",
        version = "v0.16.0",
    )
    go_repository(
        name = "org_golang_x_tools",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/tools",
        sum = "h1:k4Xc/1Om9jwkBJBo4NVLMSARBoWtK10mx+W5BnXCeAI=",
        version = "v0.51.0",
    )
    go_repository(
        name = "org_golang_x_tools_go_expect",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/tools/go/expect",
        sum = "h1:jY2C5HGYR5lqex3gEniOQL0r7Dq5+VGVgY1nudX5lXY=",
        version = "v0.1.0-deprecated",
    )
    go_repository(
        name = "org_golang_x_tools_go_packages_packagestest",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/tools/go/packages/packagestest",
        sum = "h1:1h2MnaIAIXISqTFKdENegdpAgUXz6NrPEsbIeWaBRvM=",
        version = "v0.1.1-deprecated",
    )
    go_repository(
        name = "org_golang_x_xerrors",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "golang.org/x/xerrors",
        sum = "h1:go1bK/D/BFZV2I8cIQd1NKEZ+0owSTG1fDTci4IqFcE=",
        version = "v0.0.0-20200804184101-5ec99f83aff1",
    )
    go_repository(
        name = "org_gonum_v1_gonum",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "gonum.org/v1/gonum",
        sum = "h1:VbpOemQlsSMrYmn7T2OUvQ4dqxQXU+ouZFQsZOx50z4=",
        version = "v0.17.0",
    )
    go_repository(
        name = "org_gonum_v1_plot",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "gonum.org/v1/plot",
        sum = "h1:d0DwPVBe9jnEGqQBoZGl/P2M9WciJbG2CnV59C9QBT4=",
        version = "v0.17.0",
    )
    go_repository(
        name = "org_gonum_v1_tools",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "gonum.org/v1/tools",
        sum = "h1:cJWOvXtcaFSGXz2F4z2AMM0VV7edDDGrxb5GLQH7ayQ=",
        version = "v0.0.0-20200318103217-c168b003ce8c",
    )
    go_repository(
        name = "org_uber_go_goleak",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.uber.org/goleak",
        sum = "h1:2K3zAYmnTNqV73imy9J1T3WC+gmCePx2hEGkimedGto=",
        version = "v1.3.0",
    )
    go_repository(
        name = "org_uber_go_multierr",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.uber.org/multierr",
        sum = "h1:blXXJkSxSSfBVBlC76pxqeO+LN3aDfLQo+309xJstO0=",
        version = "v1.11.0",
    )
    go_repository(
        name = "org_uber_go_zap",
        patch_cmds = ["find . -name BUILD.gazelle -type f | while read -r f; do mv -f \"$f\" \"${f%.gazelle}.bazel\"; done"],
        build_file_generation = "on",
        build_file_name = "BUILD.gazelle",
        build_file_proto_mode = "disable_global",
        importpath = "go.uber.org/zap",
        sum = "h1:08RqriUEv8+ArZRYSTXy1LeBScaMpVSTBhCeaZYfMYc=",
        version = "v1.27.1",
    )
