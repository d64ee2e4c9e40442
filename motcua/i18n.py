"""Texts of the app in Vietnamese (default) and English, and number/date formatting.

Every text shown by the app goes through :func:`t` with a key of :data:`TEXTS`.
Numbers and dates follow Vietnamese conventions in Vietnamese (``1.234.567``,
``94,5 %``, ``21/11/2026``) and English conventions in English (``1,234,567``,
``94.5%``); dates are day first in both, as Vietnamese readers expect.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Literal

Lang = Literal["vi", "en"]
#: Supported languages, default first.
LANGS: tuple[Lang, ...] = ("vi", "en")
DEFAULT_LANG: Lang = "vi"
#: How each language names itself in the language switch.
LANG_NAMES: dict[str, str] = {"vi": "Tiếng Việt", "en": "English"}

#: key -> (Vietnamese, English). ``{name}`` fields are filled by :func:`t`.
TEXTS: dict[str, tuple[str, str]] = {
    # --- app frame -----------------------------------------------------------------
    "app_title": ("Một cửa — quy hoạch điểm tiếp nhận", "Motcua — service point planner"),
    "nav_scenario": ("Kịch bản", "Scenario"),
    "nav_placement": ("Bố trí điểm tiếp nhận", "Placement"),
    "nav_staffing": ("Điều phối nhân sự", "Staffing"),
    "nav_compare": ("So sánh", "Compare"),
    "nav_national": ("Cả nước", "Whole country"),
    "language": ("Ngôn ngữ", "Language"),
    "current_scenario": ("Kịch bản đang mở: {name}", "Open scenario: {name}"),
    "synthetic_badge": (
        "DỮ LIỆU TỔNG HỢP (SYNTHETIC) — không phải một tỉnh thật",
        "SYNTHETIC data — not a real province",
    ),
    "unexpected_error": (
        "Đã xảy ra lỗi không mong muốn: {error}. Hãy thử lại; nếu lỗi lặp lại, hãy báo cho nhóm phát triển.",
        "An unexpected error occurred: {error}. Please try again; if it keeps happening, report it.",
    ),
    "no_scenario": (
        "Chưa mở kịch bản nào. Hãy chọn hoặc tải lên một kịch bản ở trang Kịch bản.",
        "No scenario is open. Choose or upload one on the Scenario page.",
    ),
    "module_missing": (
        "Chức năng này chưa sẵn sàng: thiếu mô-đun {module}.",
        "This feature is not available yet: module {module} is missing.",
    ),
    # --- whole-country page (motcua sweep) ---------------------------------------------
    "national_title": ("Cả nước: mọi tỉnh, thành phố", "Whole country: every province"),
    "national_intro": (
        "Kết quả của lệnh motcua sweep: mỗi tỉnh, thành phố một kịch bản (xã, phường 2025, dân số "
        "Tổng điều tra 2019), mức phục vụ của các điểm tiếp nhận hiện có và số điểm cần để phục vụ mọi người dân.",
        "Results of motcua sweep: one scenario per province (2025 communes, 2019 census "
        "population), today's coverage by the existing reception points and the points needed "
        "to reach every resident.",
    ),
    "sweep_folder": ("Thư mục kết quả toàn quốc (tùy chọn)", "Sweep folder (optional)"),
    "sweep_folder_help": (
        "Thư mục --out của lệnh motcua sweep. Để trống để chọn trong danh sách.",
        "The --out folder of motcua sweep. Leave empty to pick from the list.",
    ),
    "sweep_not_found": (
        "{path} không phải thư mục kết quả của motcua sweep (không có sweep.json).",
        "{path} is not a motcua sweep folder (no sweep.json).",
    ),
    "no_sweep": (
        "Chưa có kết quả toàn quốc. Chạy lệnh dưới đây (kết quả lưu trong {path}), rồi mở lại trang này.",
        "No sweep yet. Run the command below (results go to {path}), then open this page again.",
    ),
    "sweep_pick": ("Kết quả toàn quốc", "Sweep"),
    "province": ("Tỉnh, thành phố", "Province"),
    "provinces_done": ("Tỉnh đã tính xong", "Provinces finished"),
    "covered_today": ("Được phục vụ hôm nay", "Covered today"),
    "points_needed": ("Số điểm cần (giữ điểm hiện có)", "Points needed (existing kept)"),
    "points_needed_help": ("trong đó {new} điểm mở mới", "of which {new} new points"),
    "national_map_caption": (
        "Màu: tỷ lệ dân được phục vụ bởi các điểm tiếp nhận hiện có (trong chuẩn phút hoặc km). "
        "Tỉnh bị lỗi không có trên bản đồ; lý do được ghi ở trên. "
        "Bấm vào một tỉnh để chọn tỉnh đó ở mục mở kết quả bên dưới.",
        "Colour: share of residents within the standard (minutes or km) of the existing reception "
        "points. Provinces that failed are not on the map; their reasons are listed above. "
        "Click a province to choose it under opening a result below.",
    ),
    "communes_col": ("Số xã, phường", "Communes"),
    "existing_points": ("Điểm hiện có", "Existing points"),
    "province_time": ("Thời gian tính (s)", "Computing time (s)"),
    "worker": ("Máy tính toán", "Worker"),
    "error_col": ("Lỗi", "Error"),
    "mclp_share": ("Phục vụ với {n} điểm", "Covered with {n} points"),
    "closable_col": ("Điểm có thể đóng", "Offices that can close"),
    "closable_cap_col": ("Có thể đóng, không quá tải", "Can close, none overloaded"),
    "open_province": ("Mở kết quả của một tỉnh", "Open one province's result"),
    "open_on_placement": ("Mở ở trang Bố trí điểm tiếp nhận", "Open on the Placement page"),
    "open_on_compare": ("So sánh hôm nay với phương án đủ điểm", "Compare today with the full cover"),
    "compare_needs_two": (
        "Cần cả kết quả 'coverage' và 'lscp' của tỉnh này để so sánh (chạy sweep với --models coverage,lscp).",
        "Comparing needs both the 'coverage' and 'lscp' results of this province (run the sweep "
        "with --models coverage,lscp).",
    ),
    # --- scenario page ---------------------------------------------------------------
    "scenario_title": ("Kịch bản", "Scenario"),
    "choose_scenario": ("Chọn kịch bản có sẵn", "Choose a shipped scenario"),
    "open_scenario": ("Mở kịch bản", "Open scenario"),
    "upload_scenario": (
        "Hoặc tải lên một kịch bản (tệp .zip của thư mục kịch bản, hoặc các tệp của nó)",
        "Or upload a scenario (a .zip of the scenario folder, or its files)",
    ),
    "upload_check": ("Kiểm tra và mở", "Validate and open"),
    "upload_ok": ("Đã mở kịch bản tải lên: {name}", "Opened the uploaded scenario: {name}"),
    "upload_failed": (
        "Không mở được kịch bản tải lên ({files}). Kịch bản trước vẫn đang mở.",
        "The uploaded scenario ({files}) could not be opened. The previous scenario stays open.",
    ),
    "upload_no_toml": (
        "không tìm thấy scenario.toml trong các tệp tải lên",
        "no scenario.toml among the uploaded files",
    ),
    "scenario_load_failed": (
        "Không mở được kịch bản {ref}.",
        "Scenario {ref} could not be opened.",
    ),
    "scenario_warnings": ("Cảnh báo khi đọc kịch bản", "Warnings while reading the scenario"),
    "summary": ("Tóm tắt", "Summary"),
    "name": ("Tên", "Name"),
    "kind": ("Loại", "Kind"),
    "kind_branch": ("Chi nhánh", "Branch"),
    "kind_reception": ("Điểm tiếp nhận xã", "Commune reception point"),
    "kind_candidate": ("Vị trí ứng viên", "Candidate location"),
    "population": ("Dân số", "Population"),
    "communes": ("Số xã/phường", "Communes"),
    "sites": ("Điểm tiếp nhận", "Service points"),
    "candidates": ("Vị trí ứng viên", "Candidate locations"),
    "staff": ("Cán bộ", "Staff"),
    "dossiers_per_week": ("Hồ sơ/tuần", "Dossiers per week"),
    "online_share": ("Tỷ lệ trực tuyến", "Online share"),
    "not_available": ("không có", "n/a"),
    "scenario_map": ("Bản đồ nhu cầu, điểm tiếp nhận và đường", "Map of demand, service points and roads"),
    "show_roads": ("Hiện mạng đường", "Show roads"),
    "roads_unavailable": ("Không đọc được mạng đường: {error}", "Roads could not be read: {error}"),
    "map_legend_scenario": (
        "Chấm xanh lam: nhu cầu (to hơn = đông dân hơn). Chấm đỏ: chi nhánh; cam: điểm tiếp nhận xã; "
        "xám: vị trí ứng viên.",
        "Blue dots: demand (larger = more people). Red: branches; orange: commune reception points; "
        "grey: candidate locations.",
    ),
    "basemap_on": ("Nền bản đồ: OpenStreetMap", "Basemap: OpenStreetMap"),
    "basemap_off": (
        "Không có kết nối tới nền bản đồ: bản đồ hiển thị không có nền.",
        "No basemap reachable: the map is shown without one.",
    ),
    # --- placement page --------------------------------------------------------------
    "placement_title": ("Bố trí điểm tiếp nhận", "Placement of service points"),
    "model": ("Mô hình", "Model"),
    "standard": ("Chuẩn phục vụ", "Coverage standard"),
    "max_minutes": ("Thời gian đi tối đa (phút)", "Maximum travel time (min)"),
    "max_km": ("Khoảng cách tối đa (km)", "Maximum distance (km)"),
    "bad_number": ("«{value}» không phải là một số: hãy viết như {example} (dấu phẩy thập phân, dấu chấm hàng nghìn)",
                   "“{value}” is not a number: write it as {example}"),
    "number_out_of_range": ("{value} nằm ngoài khoảng cho phép: từ {low} đến {high}",
                            "{value} is out of range: from {low} to {high}"),
    "fix_numbers": ("Chưa chạy: hãy sửa các ô số {fields}.", "Not run: correct the numbers in {fields}."),
    "rule": ("Quy tắc", "Rule"),
    "rule_either": ("trong giới hạn phút HOẶC km", "within minutes OR km"),
    "rule_both": ("trong giới hạn phút VÀ km", "within minutes AND km"),
    "n_points": ("Số điểm tiếp nhận", "Number of points"),
    "budget": ("Ngân sách (tổng chi phí mở)", "Budget (total opening cost)"),
    "limit_by": ("Giới hạn theo", "Limit by"),
    "use_capacity": ("Tính công suất điểm tiếp nhận", "Respect point capacities"),
    "time_limit_s": ("Giới hạn thời gian giải (giây)", "Solve time limit (s)"),
    "run_label": ("Tên kết quả", "Result name"),
    "run": ("Chạy", "Run"),
    "stop": ("Dừng", "Stop"),
    "solving": ("Đang giải… {elapsed} giây", "Solving… {elapsed} s"),
    "solving_detail": (
        "Đang giải… {elapsed} giây — lời giải tốt nhất: {objective}, cận: {bound}",
        "Solving… {elapsed} s — best solution: {objective}, bound: {bound}",
    ),
    "solving_stage": ("Đang giải… {elapsed} giây — {stage}", "Solving… {elapsed} s — {stage}"),
    "stage_matrix": ("đang tính ai ở trong chuẩn phục vụ của điểm nào", "building the coverage matrix"),
    "stage_solving": ("đang giải mô hình", "solving the model"),
    "stage_pareto": ("đang tính đường Pareto", "computing the Pareto curve"),
    "stage_summary": ("đang tổng hợp kết quả", "summarising"),
    "model_lscp": ("Ít điểm nhất để phục vụ mọi người (LSCP)", "Fewest points covering everyone (LSCP)"),
    "model_mclp": ("Phục vụ nhiều dân nhất với số điểm cho trước (MCLP)", "Most people covered with given points (MCLP)"),
    "model_pmedian": ("Thời gian đi trung bình ngắn nhất (p-median)", "Shortest mean travel time (p-median)"),
    "model_pcenter": ("Thời gian đi xa nhất ngắn nhất (p-center)", "Shortest worst travel time (p-center)"),
    "pareto_on": ("Tính đường Pareto", "Compute the Pareto curve"),
    "weighting": ("Nhu cầu tính theo", "Demand counted as"),
    "weighting_population": ("dân số", "population"),
    "weighting_in_person": ("hồ sơ trực tiếp mỗi ngày", "in-person dossiers per day"),
    "weighted_by_dossiers": (
        "Mục tiêu tính theo hồ sơ nộp trực tiếp mỗi ngày (không theo dân số).",
        "The objective counts in-person dossiers per day (not population).",
    ),
    "single_assignment": ("Mỗi khu dân cư về một điểm", "Each demand area to one point"),
    "single_assignment_help": (
        "Khi tính công suất: toàn bộ hồ sơ của một khu dân cư về cùng một điểm tiếp nhận.",
        "With capacities: all dossiers of a demand area go to the same point.",
    ),
    "backup": ("Phục vụ dự phòng (hai điểm)", "Backup coverage (two points)"),
    "backup_help": (
        "Nhiều dân nhất trong chuẩn của ít nhất hai điểm, để đóng hoặc quá tải một điểm "
        "không bỏ rơi ai (chỉ với MCLP theo số điểm, không tính công suất).",
        "Most people within the standard of two or more points, so closing or overloading "
        "one point strands no one (MCLP by number of points, without capacities).",
    ),
    "lexicographic": ("Rồi ít điểm nhất, rồi đi gần nhất", "Then fewest points, then least travel"),
    "lexicographic_short": ("ít điểm, đi gần", "fewest points, least travel"),
    "lexicographic_help": (
        "Mục tiêu theo thứ tự: phục vụ nhiều dân nhất; giữ mức đó với ít điểm nhất; rồi "
        "tổng thời gian đi (theo dân) ngắn nhất tới điểm mở (chỉ với MCLP theo số điểm).",
        "Goals in order: the most people covered; that coverage with the fewest points; "
        "then the least population-weighted travel time to an open point (MCLP by "
        "number of points).",
    ),
    "before_not_proven": (
        "Phương án “mọi người ở nguyên đơn vị” là phương án tốt nhất tìm được trong phần "
        "thời gian dành cho nó, chưa chứng minh tối ưu: số liệu “trước” có thể chênh "
        "một chút giữa các lần chạy.",
        "The everyone-at-home plan is the best found in its share of the time, not proven "
        "optimal: the “before” figures can differ a little between runs.",
    ),
    "settings_differ": ("Thiết lập khác nhau giữa A và B", "Settings that differ between A and B"),
    "settings_same": ("A và B chạy với cùng thiết lập.", "A and B ran with the same settings."),
    "setting": ("Thiết lập", "Setting"),
    "keep_open": ("Giữ mở trong lần chạy này", "Keep open in this run"),
    "keep_open_help": (
        "Các điểm phải mở, ngoài các điểm có trạng thái must_open trong kịch bản.",
        "Points that must be open, besides those with status must_open in the scenario.",
    ),
    "close_sites": ("Đóng trong lần chạy này", "Close in this run"),
    "close_sites_help": (
        "Các điểm không được mở; một điểm đang hoạt động bị đóng ở đây được tính là đóng.",
        "Points that may not open; an existing point closed here counts as closed.",
    ),
    # --- the planner's questions (keep existing, add N, closure) -----------------------
    "model_closure": ("Đóng bớt điểm: điểm nào đóng được mà mọi người vẫn trong chuẩn",
                      "Closure: which offices can close with everyone still covered"),
    "keep_existing": ("Giữ nguyên các điểm tiếp nhận hiện có", "Keep existing offices"),
    "keep_existing_help": (
        "Mọi chi nhánh và điểm tiếp nhận hiện có đều giữ mở (mỗi xã vẫn giữ bộ phận một cửa); "
        "mô hình chỉ chọn điểm mới. Với LSCP: ít điểm mới nhất để mọi người trong chuẩn.",
        "Every existing branch and reception point stays open (each commune keeps its "
        "one-stop desk); the model only chooses new points. With LSCP: the fewest new points "
        "bringing everyone within the standard.",
    ),
    "keep_existing_points": ("gồm {n} điểm hiện có được giữ", "including the {n} existing offices kept"),
    "keep_existing_short": ("giữ điểm hiện có", "existing kept"),
    "keep_existing_none": ("Không giữ (mô hình được đóng)", "No (the model may close them)"),
    "keep_existing_all": ("Tất cả", "All"),
    "keep_existing_branches": ("Chỉ chi nhánh", "Branches only"),
    "keep_existing_receptions": ("Chỉ điểm tiếp nhận", "Reception points only"),
    "add_points": ("Thêm N điểm", "Add N points"),
    "add_points_help": (
        "0 = không dùng. N > 0: giữ nguyên các điểm hiện có và chọn thêm N điểm mới "
        "(số điểm = số điểm giữ + N).",
        "0 = off. N > 0: the existing offices kept and N new points chosen "
        "(points = the points kept + N).",
    ),
    "max_loss": ("Số người tối đa ra khỏi chuẩn", "Most residents allowed to lose coverage"),
    "max_loss_help": (
        "Đóng bớt điểm: 0 = mọi người đang trong chuẩn vẫn trong chuẩn; một điểm là điểm "
        "duy nhất phục vụ một thôn/xã thì được giữ.",
        "Closure: 0 = everyone covered today stays covered; an office that is the only one "
        "within the standard of a village is kept.",
    ),
    "placement_hint": (
        "Mỗi xã giữ bộ phận một cửa của mình? Chọn “Giữ nguyên các điểm tiếp nhận hiện có: "
        "Tất cả” để mô hình không đóng điểm nào và chỉ chọn điểm mới; “Thêm N điểm” để hỏi "
        "thêm N điểm được gì; mô hình “Đóng bớt điểm” để hỏi điểm nào có thể đóng mà mọi người "
        "vẫn trong chuẩn.",
        "Does every commune keep its one-stop desk? Choose “Keep existing offices: All” so the "
        "model closes none and only chooses new points; “Add N points” to ask what N more "
        "points buy; the “Closure” model to ask which offices can close with everyone still "
        "covered.",
    ),
    "closures_title": ("Các điểm có thể đóng bớt (tiết kiệm nhiều nhất trước)",
                       "Offices that can close (largest savings first)"),
    "closures_none": ("Không điểm nào đóng được mà giữ mọi người trong chuẩn.",
                      "No office can close while everyone stays covered."),
    "objective_closure": ("tổng chi phí các điểm giữ lại (số điểm khi chi phí đều là 1)",
                          "the total opening cost of the offices kept (their number when every cost is 1)"),
    "explain_keep_lscp": (
        "Giữ nguyên {kept} điểm hiện có, cần ít nhất {new} điểm mới để mọi người tiếp cận được "
        "đều trong chuẩn: {covered} người được phục vụ ({share}), so với {base} ({base_share}) "
        "chỉ với các điểm hiện có.",
        "With the {kept} existing offices kept open, {new} new points are the fewest that bring "
        "everyone reachable within the standard: {covered} residents covered ({share}), against "
        "{base} ({base_share}) with the kept offices alone.",
    ),
    "explain_keep": (
        "Giữ nguyên {kept} điểm hiện có, mô hình {model} chọn {new} điểm mới: {covered} người "
        "được phục vụ ({share}), so với {base} ({base_share}) chỉ với các điểm hiện có.",
        "With the {kept} existing offices kept open, {model} chose {new} new points: {covered} "
        "residents covered ({share}), against {base} ({base_share}) with the kept offices alone.",
    ),
    "explain_add": (
        "Thêm tối đa {add} điểm vào {kept} điểm đang giữ ({new} điểm mới được mở) phục vụ thêm "
        "{gain} người: {covered} ({share}) thay vì {base} ({base_share}) chỉ với các điểm đang giữ.",
        "Adding up to {add} point(s) to the {kept} kept offices ({new} new opened) covers {gain} "
        "more residents: {covered} ({share}) instead of {base} ({base_share}) with the kept "
        "offices alone.",
    ),
    "explain_closure": (
        "{closable} trong {existing} điểm hiện có có thể đóng bớt (tiết kiệm {saving} chi phí) "
        "mà toàn bộ {covered} người đang trong chuẩn vẫn trong chuẩn; giữ {kept} điểm, trong đó "
        "{sole} điểm vì có thôn/xã không còn điểm nào khác trong chuẩn.",
        "{closable} of the {existing} existing offices can close (saving {saving} in opening "
        "cost) while all {covered} residents covered today stay within the standard; {kept} "
        "stay open, {sole} of them because a village has no other office within the standard.",
    ),
    "explain_closure_loss": (
        "{closable} trong {existing} điểm hiện có có thể đóng bớt (tiết kiệm {saving} chi phí) "
        "với tối đa {max_loss} trong {covered} người đang trong chuẩn ra khỏi chuẩn (thực tế "
        "{lost} người); giữ {kept} điểm.",
        "{closable} of the {existing} existing offices can close (saving {saving} in opening "
        "cost) with at most {max_loss} of the {covered} residents covered today leaving the "
        "standard ({lost} do); {kept} stay open.",
    ),
    "explain_closure_cap": (
        "{closable} trong {existing} điểm hiện có có thể đóng bớt (tiết kiệm {saving} chi phí) "
        "mà mọi hồ sơ trực tiếp của {covered} người đang trong chuẩn vẫn được nhận trong chuẩn "
        "và trong công suất; giữ {kept} điểm, điểm đầy nhất dùng {fullest} công suất.",
        "{closable} of the {existing} existing offices can close (saving {saving} in opening "
        "cost) while every in-person dossier of the {covered} residents covered today is still "
        "taken within the standard and within capacity; {kept} stay open, the fullest at "
        "{fullest} of its capacity.",
    ),
    "explain_closure_over": (
        "{closable} trong {existing} điểm hiện có có thể đóng bớt (tiết kiệm {saving} chi phí) "
        "mà mọi hồ sơ trực tiếp của {covered} người đang trong chuẩn vẫn được nhận trong chuẩn; "
        "giữ {kept} điểm, {overloaded} điểm vượt công suất, tổng cộng {overload} hồ sơ/ngày.",
        "{closable} of the {existing} existing offices can close (saving {saving} in opening "
        "cost) while every in-person dossier of the {covered} residents covered today is still "
        "taken within the standard; {kept} stay open, {overloaded} of them over capacity by "
        "{overload} dossiers a day in all.",
    ),
    "objective_capacitated_closure": (
        "tổng chi phí các điểm giữ lại (cộng phạt quá tải), không điểm nào vượt công suất khi không cho phép quá tải",
        "the total opening cost of the offices kept (plus any overload penalty), no office over its capacity unless overload is allowed"),
    "objective_means": ("Giá trị mục tiêu là {what}.", "The objective is {what}."),
    "objective_lscp": ("tổng chi phí mở các điểm (số điểm khi chi phí đều là 1)",
                       "the total opening cost of the open points (their number when every cost is 1)"),
    "objective_mclp": ("số {unit} trong chuẩn phục vụ của một điểm mở",
                       "the {unit} within the standard of an open point"),
    "objective_pmedian": ("tổng số phút đi có trọng số theo {unit} (kể cả phần phạt cho người không được phục vụ)",
                          "the travel minutes weighted by {unit}, summed (penalties for anyone left unserved included)"),
    "objective_pcenter": ("thời gian đi xa nhất (phút) tới điểm gần nhất",
                          "the longest travel time (minutes) to the nearest open point"),
    "objective_capacitated": (
        "chi phí mở điểm (cộng phạt quá tải), hoặc số {unit} được phân về điểm mở khi giới hạn theo số điểm",
        "the opening cost (plus any overload penalty), or the {unit} assigned to open points when limited by number of points"),
    "objective_capacitated_pmedian": (
        "tổng số phút đi có trọng số theo {unit}, không điểm nào vượt công suất (kể cả phần phạt cho "
        "người không được phục vụ hoặc vượt công suất)",
        "the travel minutes weighted by {unit}, summed, no point over its capacity (penalties for "
        "anyone left unserved or over capacity included)"),
    "objective_backup": ("số {unit} trong chuẩn của hai điểm mở trở lên",
                         "the {unit} within the standard of two or more open points"),
    "objective_lexicographic": (
        "tổng số phút đi có trọng số theo {unit} (mục tiêu cuối, sau độ phủ và số điểm)",
        "the travel minutes weighted by {unit}, summed (the last goal, after coverage and the number of points)"),
    "unit_population": ("người", "people"),
    "unit_in_person": ("hồ sơ trực tiếp mỗi ngày", "in-person dossiers per day"),
    "overload_penalty": ("Phạt quá tải (mỗi hồ sơ/ngày)", "Overload penalty (per dossier/day)"),
    "overload_penalty_help": (
        "0 = công suất là giới hạn cứng. Lớn hơn 0: một điểm được nhận quá công suất, mỗi "
        "hồ sơ/ngày vượt tính bằng mức phạt này (đơn vị chi phí mở điểm; hồ sơ/ngày khi "
        "giới hạn theo số điểm); điểm quá tải được báo trong bảng tải.",
        "0 = capacity is a hard limit. Above 0: a point may take more than its capacity, "
        "each dossier/day over it costing this much (opening-cost units; dossiers/day when "
        "limited by number of points); overloaded points show in the load table.",
    ),
    "min_covered": ("Tỷ lệ phục vụ tối thiểu (%)", "Minimum covered share (%)"),
    "min_covered_help": (
        "p-median: ít nhất tỷ lệ này của dân (hoặc hồ sơ) ở trong chuẩn phục vụ của một "
        "điểm mở; 0 = không đặt sàn.",
        "p-median: at least this share of the people (or dossiers) within the standard "
        "of an open point; 0 = no floor.",
    ),
    "double_covered_help": (
        "Trong chuẩn của hai điểm trở lên: {people} người ({share}).",
        "Within the standard of two or more points: {people} people ({share}).",
    ),
    "double_covered_people": ("Dân trong chuẩn của hai điểm trở lên",
                              "People within reach of two or more points"),
    "seed": ("Hạt giống ngẫu nhiên (seed)", "Solver seed"),
    "threads": ("Số luồng", "Threads"),
    "pareto_max": ("Đường Pareto tới số điểm", "Pareto curve up to points"),
    "travel_min_col": ("Phút đi", "Travel minutes"),
    "change": ("Thay đổi", "Change"),
    "load_col": ("Hồ sơ/ngày", "Dossiers/day"),
    "legend_covered": ("Dân được phục vụ", "Covered people"),
    "legend_uncovered": ("Dân chưa được phục vụ", "Uncovered people"),
    "legend_unreachable": ("Dân không vị trí ứng viên nào tới được", "People no candidate can reach"),
    "unreachable_help": (
        "Trong số dân chưa được phục vụ, {people} người ({share}) sống ở nơi không có vị trí ứng viên "
        "nào trong chuẩn phục vụ: chỉ có thể phục vụ họ bằng một vị trí ứng viên mới.",
        "Of the uncovered, {people} people ({share}) live where no candidate location is within the "
        "standard: only a new candidate location can serve them.",
    ),
    "unreachable_col": ("Trong đó không điểm nào tới được", "Of whom no candidate can reach"),
    "capacity_col": ("Công suất (hồ sơ/ngày)", "Capacity (dossiers/day)"),
    "site_id": ("Mã", "Id"),
    "open_points_help": ("Giữ mở {kept}, mở mới {new}, đóng {closed}.", "Kept open {kept}, new {new}, closed {closed}."),
    "utilisation": ("Mức sử dụng", "Utilisation"),
    "uncovered_by_commune": ("Dân chưa được phục vụ theo xã", "Uncovered people by commune"),
    "commune": ("Xã/phường", "Commune"),
    "everyone_covered": ("Mọi người dân đều trong chuẩn phục vụ.", "Everyone is within the standard."),
    "computing_isochrones": ("Đang tính vùng tiếp cận…", "Computing isochrones…"),
    "download_demand_csv": ("CSV (dân cư)", "CSV (demand)"),
    "stopping": ("Đang dừng…", "Stopping…"),
    "solve_done": ("Đã giải xong và lưu: {run_id}", "Solved and saved: {run_id}"),
    "solve_failed": ("Lỗi khi giải: {error}", "The solve failed: {error}"),
    "saved_results": ("Kết quả đã lưu", "Saved results"),
    "no_results": ("Chưa có kết quả nào.", "No results yet."),
    "status": ("Trạng thái", "Status"),
    "objective": ("Giá trị mục tiêu", "Objective"),
    "bound": ("Cận tốt nhất", "Best bound"),
    "gap": ("Khoảng cách tối ưu (gap)", "Gap"),
    "wall_time": ("Thời gian giải", "Solve time"),
    "status_OPTIMAL": ("TỐI ƯU", "OPTIMAL"),
    "status_FEASIBLE": ("KHẢ THI — chưa chứng minh tối ưu", "FEASIBLE — not proven optimal"),
    "status_INFEASIBLE": ("VÔ NGHIỆM", "INFEASIBLE"),
    "status_UNBOUNDED": ("KHÔNG BỊ CHẶN", "UNBOUNDED"),
    "status_MODEL_INVALID": ("MÔ HÌNH KHÔNG HỢP LỆ", "MODEL INVALID"),
    "status_NOT_SOLVED": ("CHƯA GIẢI", "NOT SOLVED"),
    "status_UNKNOWN": ("KHÔNG RÕ — chưa tìm được lời giải", "UNKNOWN — no solution found"),
    "feasible_warning": (
        "Lời giải khả thi nhưng CHƯA được chứng minh là tối ưu (gap {gap}).",
        "The solution is feasible but NOT proven optimal (gap {gap}).",
    ),
    "covered_share": ("Tỷ lệ dân được phục vụ", "Covered share"),
    "uncovered_people": ("Số dân chưa được phục vụ", "Uncovered people"),
    "mean_travel": ("Thời gian đi trung bình", "Mean travel time"),
    "worst_travel": ("Thời gian đi xa nhất", "Worst travel time"),
    "open_points": ("Số điểm mở", "Open points"),
    "load_per_point": ("Tải theo điểm", "Load per point"),
    "minutes": ("{value} phút", "{value} min"),
    "added_people": ("Số dân thêm nhờ điểm này", "People this point adds"),
    "pareto_table": ("Bảng Pareto", "Pareto table"),
    "pareto": ("Đường Pareto: tỷ lệ phục vụ theo số điểm", "Pareto: coverage against number of points"),
    "result_map": ("Bản đồ kết quả", "Result map"),
    "map_legend_placement": (
        "Điểm xanh lá: giữ mở; tím: mở mới; đen: đóng. Chấm xanh lam: dân được phục vụ; "
        "chấm đỏ: dân chưa được phục vụ; chấm nâu: dân không vị trí ứng viên nào tới được. "
        "Vùng tô: vùng tiếp cận (isochrone).",
        "Green: kept open; purple: newly opened; black: closed. Blue dots: covered people; red dots: "
        "uncovered people; brown dots: people no candidate can reach. Shaded: isochrones.",
    ),
    "show_isochrones": ("Hiện vùng tiếp cận (isochrone)", "Show isochrones"),
    "downloads": ("Tải xuống", "Downloads"),
    "download_gpkg": ("GeoPackage", "GeoPackage"),
    "download_geojson": ("GeoJSON (điểm)", "GeoJSON (points)"),
    "download_csv": ("CSV (điểm)", "CSV (points)"),
    "download_xlsx": ("Excel", "Excel"),
    "share_link": ("Đường dẫn để chia sẻ", "Link to share"),
    "run_settings": ("Thiết lập của lần chạy", "Run settings"),
    # --- staffing page ---------------------------------------------------------------
    "staffing_title": ("Điều phối nhân sự theo tuần", "Weekly staff rebalancing"),
    "week": ("Tuần (ISO, ví dụ 2026-W48)", "Week (ISO, e.g. 2026-W48)"),
    "bad_week": ("Tuần không hợp lệ: {value!r}; cần dạng 2026-W48", "Invalid week {value!r}; expected e.g. 2026-W48"),
    "max_moves": ("Số lượt điều động tối đa (0 = không giới hạn)", "Maximum moves (0 = no limit)"),
    "forecast": ("Dự báo hồ sơ (có thể sửa)", "Dossier forecast (editable)"),
    "forecast_load": ("Tải dự báo", "Load forecast"),
    "roster": ("Lịch phân công", "Roster"),
    "utilisation_before": ("Mức sử dụng trước khi điều phối", "Utilisation before rebalancing"),
    "utilisation_after": ("Mức sử dụng sau khi điều phối", "Utilisation after rebalancing"),
    "moves": ("Các lượt điều động", "Moves"),
    "no_moves": ("Không cần điều động.", "No moves needed."),
    "no_moves_unproven": ("Chưa tìm được lượt điều động nào trong giới hạn thời gian (kết quả chưa "
                          "chứng minh tối ưu): hãy tăng giới hạn thời gian.",
                          "No moves found within the time limit (the result is not proven optimal): "
                          "allow more time."),
    "shortfalls": ("Thiếu hụt còn lại", "Remaining shortfalls"),
    "n_moves": ("Số lượt điều động", "Moves"),
    "peak_before": ("Mức sử dụng cao nhất — trước", "Peak utilisation — before"),
    "peak_after": ("Mức sử dụng cao nhất — sau", "Peak utilisation — after"),
    # the three plans side by side (staffing page)
    "plans_title": ("Ba phương án trong tuần", "Three plans for the week"),
    "plans_caption": ("Hôm nay: mọi người làm tại đơn vị mình, mỗi điểm tự xử lý hồ sơ của mình. "
                      "Chia sẻ hồ sơ trực tuyến: cùng lịch đó, hồ sơ trực tuyến do người đủ "
                      "chuyên môn xử lý tại nơi họ làm việc. Kế hoạch điều động: thêm các lượt "
                      "điều động cán bộ tới quầy cần người.",
                      "Today: everyone at home, each site its own dossiers. Online work shared: "
                      "the same roster, online dossiers processed by qualified staff where they "
                      "work. Planned moves: plus moves of staff to the counters that need people."),
    "plan_figure": ("Chỉ tiêu", "Figure"),
    "plan_today": ("Hôm nay (hiện trạng)", "Today (as is)"),
    "plan_pooled": ("Chia sẻ hồ sơ trực tuyến", "Online work shared"),
    "plan_planned": ("Kế hoạch điều động", "Planned moves"),
    "fig_overload": ("Số phút quá tải", "Overload minutes"),
    "fig_peak": ("Mức sử dụng cao nhất", "Peak utilisation"),
    "fig_wait": ("Thời gian chờ dự kiến trung bình (phút)", "Mean expected wait (min)"),
    "fig_counters": ("Số quầy còn thiếu người", "Counters short"),
    "fig_moves": ("Số lượt điều động", "Moves"),
    "download_csv_zip": ("Các bảng CSV (.zip)", "CSV tables (.zip)"),
    "no_staff": ("Kịch bản này không có danh sách cán bộ (staff.csv).", "This scenario has no staff list (staff.csv)."),
    "all_sites": ("Hiện tất cả {n} điểm", "Show all {n} sites"),
    "busiest_sites": ("Đang hiện {n} điểm bận nhất.", "Showing the {n} busiest sites."),
    "week_dates": ("Từ {start} đến {end}", "From {start} to {end}"),
    "shortfall_total": ("Tổng thiếu hụt", "Total shortfall"),
    # --- compare page ----------------------------------------------------------------
    "compare_title": ("So sánh hai kết quả", "Compare two results"),
    "result_a": ("Kết quả A", "Result A"),
    "result_b": ("Kết quả B", "Result B"),
    "need_two": (
        "Cần ít nhất hai kết quả bố trí đã lưu để so sánh. Hãy chạy ở trang Bố trí điểm tiếp nhận.",
        "At least two saved placement results are needed. Run some on the Placement page.",
    ),
    "unknown_run": ("Không tìm thấy kết quả {run_id!r} trong thư mục lưu.", "Result {run_id!r} not found in the results folder."),
    "different_scenarios": (
        "Hai kết quả thuộc hai kịch bản khác nhau ({a} / {b}); các con số vẫn so sánh được nhưng hãy thận trọng.",
        "The two results belong to different scenarios ({a} / {b}); figures still compare but read with care.",
    ),
    "figure": ("Chỉ tiêu", "Figure"),
    "difference": ("Chênh lệch (B − A)", "Difference (B − A)"),
    "changes_map": ("Bản đồ thay đổi từ A sang B", "Map of what changed from A to B"),
    "map_legend_changes": (
        "Xanh lá: dân mới được phục vụ; đỏ: dân mất phục vụ. Vuông tím: điểm mở thêm; vuông đen: điểm đóng lại.",
        "Green: newly covered people; red: newly uncovered people. Purple squares: opened points; black squares: "
        "closed points.",
    ),
    "covered_people": ("Số dân được phục vụ", "Covered people"),
    "kept_points": ("Điểm giữ mở", "Points kept open"),
    "new_points": ("Điểm mở mới", "New points"),
    "closed_points": ("Điểm đóng", "Closed points"),
    "overloaded_points": ("Điểm quá tải", "Overloaded points"),
    "overloaded_uncapacitated": (
        "Điểm mở nhận nhiều hồ sơ hơn công suất: {n} (mức sử dụng cao nhất {top}). Lần chạy này "
        "không tính công suất; chọn \"Tính công suất điểm tiếp nhận\" để giữ mọi điểm trong công suất.",
        "Open points taking more dossiers than their capacity: {n} (highest utilisation {top}). "
        "This run did not model capacities; tick \"Respect point capacities\" to keep every point "
        "within them.",
    ),
    "newly_covered": ("Dân mới được phục vụ", "Newly covered people"),
    "newly_uncovered": ("Dân mất phục vụ", "Newly uncovered people"),
    "opened": ("Điểm mở thêm", "Opened points"),
    "closed": ("Điểm đóng lại", "Closed points"),
    "kept": ("giữ mở", "kept open"),
    "new": ("mở mới", "new"),
    "closed_one": ("đóng", "closed"),
    "legend_kept": ("Điểm giữ mở", "Kept open"),
    "legend_new": ("Điểm mở mới", "Newly opened"),
    "legend_closed": ("Điểm đóng", "Closed"),
    # --- edge to edge: widgets, tables, figures ----------------------------------------
    "upload_help": (
        "Kéo thả tệp vào đây hoặc bấm để chọn. Tối đa {mb} MB mỗi tệp.",
        "Drag and drop files here or click to choose. At most {mb} MB per file.",
    ),
    "choose_options": ("Chọn…", "Choose…"),
    "choose_option": ("Chọn…", "Choose…"),
    "press_enter": ("Nhấn Enter để áp dụng", "Press Enter to apply"),
    "people_unit": ("người", "people"),
    "points_unit": ("điểm", "points"),
    "people_value": ("{value} người", "{value} people"),
    "short_million": ("{value} triệu", "{value} M"),
    "short_thousand": ("{value} nghìn", "{value} k"),
    "pp": ("{value} điểm %", "{value} pp"),
    "seconds": ("{value} giây", "{value} s"),
    "elapsed": ("Thời gian từ khi bấm Chạy", "Time from the click on Run"),
    "elapsed_help": (
        "Từ lúc bấm Chạy tới khi kết quả được lưu (gồm cả tính ma trận phục vụ); "
        "riêng bộ giải: {solver}.",
        "From the click on Run to the saved result (building the coverage matrix included); "
        "the solver alone: {solver}.",
    ),
    "default_value": ("{value} (mặc định của kịch bản)", "{value} (scenario default)"),
    "yes": ("có", "yes"),
    "no": ("không", "no"),
    "off_day": ("nghỉ", "off"),
    "person_id": ("Mã cán bộ", "Staff id"),
    "person": ("Cán bộ", "Staff member"),
    "home_site": ("Nơi làm việc chính", "Home site"),
    "col_date": ("Ngày", "Date"),
    "col_weekday": ("Thứ", "Day"),
    "col_site": ("Điểm tiếp nhận", "Service point"),
    "col_field": ("Lĩnh vực", "Field"),
    "col_channel": ("Kênh nộp", "Channel"),
    "col_dossiers": ("Số hồ sơ", "Dossiers"),
    "col_source": ("Nguồn số liệu", "Source"),
    "col_from": ("Từ điểm", "From"),
    "col_to": ("Đến điểm", "To"),
    "col_travel": ("Phút di chuyển", "Travel minutes"),
    "col_reason": ("Lý do", "Reason"),
    "col_minutes_short": ("Số phút thiếu", "Minutes short"),
    "col_counters_short": ("Số quầy thiếu", "Counters short"),
    "col_detail": ("Diễn giải", "Detail"),
    "channel_in_person": ("tiếp nhận trực tiếp", "in person"),
    "channel_online": ("hồ sơ trực tuyến", "online"),
    "source_model": ("dự báo", "forecast"),
    "source_override": ("đã sửa", "edited"),
    "field_land": ("Đất đai", "Land"),
    "field_justice": ("Tư pháp – hộ tịch", "Justice"),
    "field_business": ("Đăng ký kinh doanh", "Business"),
    "field_construction": ("Xây dựng", "Construction"),
    "field_labour": ("Lao động – thương binh – xã hội", "Labour"),
    "field_other": ("Lĩnh vực khác", "Other"),
    "field_all": ("mọi lĩnh vực", "all fields"),
    "shortfall_count": ("Số ngày-điểm còn thiếu", "Site-days still short"),
    "shortfall_count_help": (
        "Số dòng trong bảng thiếu hụt sau điều phối: mỗi dòng là một điểm tiếp nhận trong "
        "một ngày (hoặc một lĩnh vực) còn thiếu người; tổng {minutes} phút công việc.",
        "Rows of the shortfall table after rebalancing: each is a service point on a day "
        "(or a field) still short of people; {minutes} minutes of work in all.",
    ),
    "peak_change_help": ("Chênh lệch tính bằng điểm phần trăm.", "The change is in percentage points."),
    "week_heading": ("Tuần {week} ({start} – {end})", "Week {week} ({start} – {end})"),
    "coverage_roads": ("theo mạng đường, {mode}", "on the road network, {mode}"),
    "coverage_crow": ("theo đường chim bay × {circuity}, {speed} km/h (không có mạng đường)",
                      "straight line × {circuity} at {speed} km/h (no road network)"),
    "coverage_zones": ("theo đường chim bay theo vùng ({mode}): {parts}{land} (không có mạng đường)",
                       "straight line by zone ({mode}): {parts}{land} (no road network)"),
    "coverage_zone_part": ("{zone} {speed} km/h × {circuity} ({n} điểm dân cư)",
                           "{zone} {speed} km/h x {circuity} ({n} points)"),
    "coverage_land_apart": ("; các vùng đất liền tách biệt không tới được nhau",
                            ", land masses apart unreachable"),
    "zone_urban": ("đô thị", "urban"),
    "zone_peri_urban": ("ven đô", "peri-urban"),
    "zone_rural": ("nông thôn", "rural"),
    "zone_mountain": ("miền núi", "mountain"),
    "zone_none": ("chưa phân vùng", "no zone"),
    "mode_motorbike": ("xe máy", "motorbike"),
    "mode_car": ("ô tô", "car"),
    "mode_walk": ("đi bộ", "walking"),
    "mode_bike": ("xe đạp", "bicycle"),
    "keep_existing_hint": (
        "Mặc định, mô hình được tự do đóng {n} điểm đang hoạt động. Chọn “Giữ nguyên các điểm "
        "tiếp nhận hiện có: Tất cả” để giữ mọi điểm hiện có và chỉ thêm điểm mới.",
        "By default the model may close the {n} existing points. Choose “Keep existing "
        "offices: All” to keep every existing point and only add new ones.",
    ),
    "closes_existing": (
        "Phương án này đóng {n} điểm đang hoạt động. Để giữ chúng và chỉ thêm điểm mới, chọn "
        "“Giữ nguyên các điểm tiếp nhận hiện có: Tất cả” trong phần Chạy lần mới bên dưới.",
        "This plan closes {n} existing points. To keep them and only add new ones, choose "
        "“Keep existing offices: All” under New run below.",
    ),
    "keep_all_existing": ("Giữ mọi điểm đang hoạt động ({n})", "Keep every existing point ({n})"),
    "advanced_options": ("Tùy chọn nâng cao", "Advanced options"),
    "new_solve": ("Chạy lần mới", "New run"),
    "result_summary": ("Kết quả", "Result"),
    "run_model": ("Mô hình", "Model"),
    "brief": ("Bản tóm tắt để in (HTML)", "Printable brief (HTML)"),
    "brief_title": ("So sánh hai phương án bố trí điểm tiếp nhận",
                    "Comparison of two placements of service points"),
    "brief_generated": ("Lập ngày {date}", "Made on {date}"),
    "legend_outline": ("Ranh giới", "Boundary"),
    "legend_density": ("Mật độ dân cư", "Population density"),
    "legend_toggle": ("Chú giải", "Legend"),
    "map_points_zoom": ("Phóng to để thấy từng khu dân cư.", "Zoom in to see each demand area."),
    "setting_model": ("Mô hình", "Model"),
    "setting_p": ("Số điểm", "Number of points"),
    "setting_budget": ("Ngân sách", "Budget"),
    "setting_minutes": ("Thời gian đi tối đa (phút)", "Maximum travel time (min)"),
    "setting_km": ("Khoảng cách tối đa (km)", "Maximum distance (km)"),
    "setting_capacitated": ("Tính công suất", "Capacities"),
    "setting_single_assignment": ("Mỗi khu dân cư về một điểm", "Single assignment"),
    "setting_overload_penalty": ("Phạt quá tải", "Overload penalty"),
    "setting_backup": ("Phục vụ dự phòng", "Backup coverage"),
    "setting_lexicographic": ("Mục tiêu theo thứ tự", "Lexicographic goals"),
    "setting_min_covered_pct": ("Tỷ lệ phục vụ tối thiểu (%)", "Minimum covered share (%)"),
    "setting_weighting": ("Nhu cầu tính theo", "Demand counted as"),
    "setting_keep_open": ("Giữ mở", "Kept open"),
    "setting_close": ("Đóng", "Closed"),
    "setting_pareto": ("Đường Pareto tới", "Pareto up to"),
    "setting_time_limit_s": ("Giới hạn thời gian (giây)", "Time limit (s)"),
    "setting_seed": ("Seed", "Seed"),
    "setting_threads": ("Số luồng", "Threads"),
    "setting_week": ("Tuần", "Week"),
    "setting_max_moves": ("Số lượt điều động tối đa", "Maximum moves"),
    "setting_forecast_edits": ("Số ô dự báo đã sửa", "Forecast cells edited"),
    "setting_forecast_method": ("Cách dự báo", "Forecast method"),
    "setting_travel": ("Thời gian di chuyển", "Travel times"),
    "no_limit": ("không giới hạn", "no limit"),
}


def normalise_lang(value: object) -> Lang:
    """Return ``value`` if it is a supported language code, else the default (``vi``)."""
    if value == "en":
        return "en"
    return DEFAULT_LANG


def t(key: str, lang: str = DEFAULT_LANG, **fields: object) -> str:
    """Text ``key`` in ``lang`` with ``{fields}`` filled in.

    Raises
    ------
    KeyError
        If ``key`` is not in :data:`TEXTS` (a typo in the app, caught by the tests).
    """
    vi, en = TEXTS[key]
    text = en if lang == "en" else vi
    return text.format(**fields) if fields else text


def _group(digits: str, sep: str) -> str:
    out = []
    while len(digits) > 3:
        out.append(digits[-3:])
        digits = digits[:-3]
    out.append(digits)
    return sep.join(reversed(out))


def fmt_num(value: float | int | None, decimals: int = 0, lang: str = DEFAULT_LANG) -> str:
    """Format a number: ``1.234.567,8`` in Vietnamese, ``1,234,567.8`` in English.

    ``None``, NaN and infinities give ``–`` (a dash), never ``nan``.
    """
    if value is None:
        return "–"
    x = float(value)
    if not math.isfinite(x):
        return "–"
    text = f"{abs(x):.{decimals}f}"
    whole, _, frac = text.partition(".")
    thousands, point = (".", ",") if lang != "en" else (",", ".")
    sign = "−" if x < 0 and float(text) != 0 else ""
    return sign + _group(whole, thousands) + (point + frac if frac else "")


def fmt_value(value: float | int | None, decimals: int = 2, lang: str = DEFAULT_LANG) -> str:
    """Format an objective or bound: a whole number (a count of points, a cover's
    cost) without decimals, anything else with ``decimals``: ``137``, ``1.196,15``."""
    if value is not None and math.isfinite(float(value)) and float(value) == round(float(value)):
        return fmt_num(value, 0, lang)
    return fmt_num(value, decimals, lang)


def fmt_int(value: float | int | None, lang: str = DEFAULT_LANG) -> str:
    """Format a count rounded to a whole number: ``1.234.567`` / ``1,234,567``."""
    return fmt_num(value, 0, lang)


def fmt_pct(share: float | None, decimals: int = 1, lang: str = DEFAULT_LANG) -> str:
    """Format a share in [0, 1] as a percentage: ``94,5 %`` / ``94.5%``."""
    if share is None or not math.isfinite(float(share)):
        return "–"
    number = fmt_num(100.0 * float(share), decimals, lang)
    return f"{number} %" if lang != "en" else f"{number}%"


def fmt_signed(value: float | None, decimals: int = 0, lang: str = DEFAULT_LANG) -> str:
    """Format a difference with an explicit sign: ``+1.234`` / ``−56``."""
    if value is None or not math.isfinite(float(value)):
        return "–"
    text = fmt_num(value, decimals, lang)
    return text if text.startswith("−") or float(value) == 0 else "+" + text


def fmt_date(value: dt.date | dt.datetime | str, lang: str = DEFAULT_LANG) -> str:
    """Format a date day first: ``21/11/2026`` (ISO strings are accepted)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.strftime("%d/%m/%Y")


def fmt_datetime(value: dt.datetime | str, lang: str = DEFAULT_LANG) -> str:
    """Format a date and time: ``21/11/2026 14:05``."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.strftime("%d/%m/%Y %H:%M")


def fmt_minutes(value: float | None, lang: str = DEFAULT_LANG) -> str:
    """Format a travel time: ``12,5 phút`` / ``12.5 min``."""
    return t("minutes", lang, value=fmt_num(value, 1, lang))


#: ISO weekday codes -> (Vietnamese, English) abbreviations.
WEEKDAYS: dict[str, tuple[str, str]] = {
    "Mon": ("T2", "Mon"), "Tue": ("T3", "Tue"), "Wed": ("T4", "Wed"), "Thu": ("T5", "Thu"),
    "Fri": ("T6", "Fri"), "Sat": ("T7", "Sat"), "Sun": ("CN", "Sun"),
}
#: Weekdays named in a sentence ("on Tue" -> "thứ Ba").
_WEEKDAY_LONG_VI = {"Mon": "thứ Hai", "Tue": "thứ Ba", "Wed": "thứ Tư", "Thu": "thứ Năm",
                    "Fri": "thứ Sáu", "Sat": "thứ Bảy", "Sun": "Chủ nhật"}


def fmt_weekday(code: object, lang: str = DEFAULT_LANG) -> str:
    """``Mon`` -> ``T2`` (Vietnamese) / ``Mon`` (English); unknown codes unchanged."""
    pair = WEEKDAYS.get(str(code))
    if pair is None:
        return str(code)
    return pair[1] if lang == "en" else pair[0]


def fmt_day(code: object, date: object, lang: str = DEFAULT_LANG) -> str:
    """A day as a column or axis label: ``T2 23/11`` / ``Mon 23/11``."""
    d = dt.date.fromisoformat(str(date)[:10])
    return f"{fmt_weekday(code, lang)} {d:%d/%m}"


def in_language(text: str, lang: str = DEFAULT_LANG) -> str:
    """The half of a two-language text ``tiếng Việt | English`` (one ``" | "``) in ``lang``;
    any other text as it is (a scenario's description is the user's text)."""
    halves = text.split(" | ")
    if len(halves) != 2 or not all(h.strip() for h in halves):
        return text
    return halves[1 if lang == "en" else 0].strip()


def label_of(prefix: str, code: object, lang: str = DEFAULT_LANG) -> str:
    """``TEXTS[prefix_code]`` in ``lang`` (a field, channel, source...), else the code."""
    key = f"{prefix}_{code}"
    return t(key, lang) if key in TEXTS else str(code)


def fmt_short(value: float | int | None, lang: str = DEFAULT_LANG) -> str:
    """A count short enough for a figure card: ``3,12 triệu`` / ``3.12 M`` from a
    million up, the whole number below (``999.997``)."""
    if value is None or not math.isfinite(float(value)):
        return "–"
    x = float(value)
    if abs(x) >= 1e6:
        return t("short_million", lang, value=fmt_num(x / 1e6, 2, lang))
    return fmt_num(x, 0, lang)


def fmt_figure(value: float | int | None, lang: str = DEFAULT_LANG) -> str:
    """A value of any size for a figure card (a solver's objective or bound): two
    decimals below 1,000 (``8,57``), whole from there (``12.345``), short from a million
    (``1,21 triệu``); the card's help holds the exact number."""
    if value is None or not math.isfinite(float(value)):
        return "–"
    x = float(value)
    return fmt_num(x, 2, lang) if abs(x) < 1000 else fmt_short(x, lang)


def fmt_pp(points: float | None, decimals: int = 1, lang: str = DEFAULT_LANG) -> str:
    """A change of a percentage in percentage points, signed: ``−0,5 điểm %`` / ``−0.5 pp``."""
    return t("pp", lang, value=fmt_signed(points, decimals, lang))


def fmt_seconds(value: float | None, lang: str = DEFAULT_LANG) -> str:
    """A duration: ``2,4 giây`` / ``2.4 s`` (one decimal under a minute, whole seconds above)."""
    if value is None or not math.isfinite(float(value)):
        return "–"
    return t("seconds", lang, value=fmt_num(value, 1 if value < 60 else 0, lang))


def coverage_text(label: str, lang: str = DEFAULT_LANG) -> str:
    """How travel times were computed (``road network, motorbike``) in ``lang``."""
    import re

    if lang == "en":
        return label
    m = re.fullmatch(r"road network(?:, (\w+))?(.*)", label)
    if m:
        if m.group(1) is None:
            return t("coverage_roads", lang, mode="").rstrip(", ") + m.group(2)
        return t("coverage_roads", lang, mode=label_of("mode", m.group(1), lang)) + m.group(2)
    zoned = _zones_text(label, lang)
    if zoned is not None:
        return zoned
    m = re.fullmatch(r"straight line x ([\d.]+) at ([\d.]+) km/h.*", label)
    if m:
        return t("coverage_crow", lang, circuity=fmt_num(float(m.group(1)), 2, lang).rstrip("0").rstrip(","),
                 speed=fmt_num(float(m.group(2)), 0, lang))
    return label


_ZONE_PART = re.compile(r"(urban|peri-urban|rural|mountain|no zone) ([\d.]+) km/h x ([\d.]+) "
                        r"\(([\d,]+) points\)")


def _zones_text(label: str, lang: str) -> str | None:
    """``straight line by zone (motorbike): urban 20 km/h x 1.3 (121 points), ...`` (the
    label of :func:`geodata.zones.zone_label`) in ``lang``; ``None`` for another label."""
    m = re.fullmatch(r"straight line by zone \((\w+)\): (.*) \(no road network\)", label)
    if not m:
        return None
    body, land = m.group(2), ""
    if body.endswith(", land masses apart unreachable"):
        body, land = body.removesuffix(", land masses apart unreachable"), t("coverage_land_apart", lang)
    parts = []
    for part in body.split(", "):
        z = _ZONE_PART.fullmatch(part)
        if not z:
            return None  # a label this rule does not know stays as written
        speed, circ = float(z.group(2)), float(z.group(3))
        parts.append(t("coverage_zone_part", lang,
                       zone=t("zone_none" if z.group(1) == "no zone"
                              else f"zone_{z.group(1).replace('-', '_')}", lang),
                       speed=fmt_num(speed, 0 if speed.is_integer() else 1, lang),
                       circuity=fmt_num(circ, 0, lang) if circ.is_integer()
                       else fmt_num(circ, 2, lang).rstrip("0"),
                       n=fmt_int(int(z.group(4).replace(",", "")), lang)))
    return t("coverage_zones", lang, mode=label_of("mode", m.group(1), lang),
             parts=", ".join(parts), land=land)


# --- move reasons and shortfalls, written by the optimizer in English ---------------------
_NUM = r"([\d,.]+)"


def _vi_num(text: str, decimals: int = 0) -> str:
    return fmt_num(float(text.replace(",", "")), decimals, "vi")


def _vi_pct(text: str) -> str:
    return f"{_vi_num(text)} %"


def _vi_wait(text: str) -> str:
    if text.startswith("no end"):
        return "không dứt (hàng chờ dài mãi)"
    return f"{_vi_num(text.split()[0])} phút"


def _vi_fields(text: str) -> str:
    return ", ".join(label_of("field", f.strip(), "vi").lower() for f in text.split(","))


def _day(code: str) -> str:
    return _WEEKDAY_LONG_VI.get(code, code)


_REASON_RULES: tuple[tuple[str, object], ...] = (
    (r"covers the (.+) counter at (\S+) on (\w+)",
     lambda m, n: f"đảm nhận quầy {_vi_fields(m[1])} tại {n(m[2])} {_day(m[3])}"),
    (r"staffs a counter at (\S+) on (\w+) \(Erlang C asks for (\d+); short (\d+) -> (\d+)\)",
     lambda m, n: (f"thêm người cho một quầy tại {n(m[1])} {_day(m[2])} (cần {m[3]} quầy có người; "
                   f"thiếu {m[4]} → {m[5]})")),
    (r"takes in-person work at (\S+) on (\w+) \(beyond capacity " + _NUM + r" -> " + _NUM + r" min\)",
     lambda m, n: (f"nhận bớt hồ sơ tiếp nhận trực tiếp tại {n(m[1])} {_day(m[2])} (phần việc vượt "
                   f"năng lực {_vi_num(m[3])} → {_vi_num(m[4])} phút)")),
    (r"works at (\S+) on (\w+)", lambda m, n: f"làm việc tại {n(m[1])} {_day(m[2])}"),
    (r"(\S+)'s wait (.+) -> (.+)",
     lambda m, n: f"thời gian chờ tại {n(m[1])} {_vi_wait(m[2])} → {_vi_wait(m[3])}"),
    (r"home (\S+) stays at " + _NUM + " %",
     lambda m, n: f"đơn vị gốc {n(m[1])} vẫn ở mức tải {_vi_pct(m[2])}"),
    (r"home (\S+) " + _NUM + " % -> " + _NUM + " %",
     lambda m, n: f"đơn vị gốc {n(m[1])}: mức tải {_vi_pct(m[2])} → {_vi_pct(m[3])}"),
    (r"(\S+) " + _NUM + " % -> " + _NUM + " %",
     lambda m, n: f"mức tải tại {n(m[1])} {_vi_pct(m[2])} → {_vi_pct(m[3])}"),
    (r"no one qualified for (\w+) at the counter",
     lambda m, n: f"không có cán bộ đủ chuyên môn {_vi_fields(m[1])} tại quầy"),
    (_NUM + r" min of work beyond (\d+) people's day",
     lambda m, n: f"{_vi_num(m[1])} phút công việc vượt quá ngày làm việc của {m[2]} cán bộ"),
    (r"Erlang C asks for (\d+) staffed counters, (\d+) people there",
     lambda m, n: f"cần {m[1]} quầy có người (theo mô hình hàng chờ Erlang C), chỉ có {m[2]} cán bộ"),
    (r"online minutes: no one qualified works that day",
     lambda m, n: "hồ sơ trực tuyến: không có cán bộ đủ chuyên môn làm việc ngày này"),
)


def explain(text: object, lang: str = DEFAULT_LANG,
            names: dict[str, str] | None = None) -> str:
    """A move reason or a shortfall detail (``; ``-separated clauses written by
    ``optimizer.staff_allocation.tables`` in English) as a sentence in ``lang``, with
    site ids replaced by ``names`` where known. A clause no rule knows stays as written."""
    import re

    raw = "" if text is None else str(text)
    if not raw:
        return raw

    def n(site: str) -> str:
        return (names or {}).get(site, site)

    if lang == "en":
        out = raw
        for site, name in sorted((names or {}).items(), key=lambda kv: -len(kv[0])):
            out = re.sub(rf"\b{re.escape(site)}\b", name, out)
        return out[:1].upper() + out[1:]
    parts = []
    for clause in re.split(r"; (?![^()]*\))", raw):  # not the "; " inside brackets
        for pattern, make in _REASON_RULES:
            m = re.fullmatch(pattern, clause.strip())
            if m:
                parts.append(make(m, n))  # type: ignore[operator]
                break
        else:
            parts.append(clause)
    sentence = "; ".join(parts)
    return sentence[:1].upper() + sentence[1:] + "."


_FORECAST = (r"weekday profile per site and channel over ([\d.]+) weeks of history \((\S+)\.\.(\S+)\) "
             r"x mean daily level per site, field and channel over the last (\d+) weeks; "
             r"open days (.+?)(?:; holidays closed: (.+))?")


def forecast_text(method: str, lang: str = DEFAULT_LANG) -> str:
    """How the week's dossiers were forecast (written by ``motcua.staffing`` in English)."""
    import re

    if lang == "en":
        return method
    m = re.fullmatch(_FORECAST, method.strip())
    if not m:
        return method
    days = ", ".join(fmt_weekday(d.strip(), lang) for d in m[5].split(","))
    text = (f"Hồ sơ theo thứ trong tuần của từng điểm và kênh, tính trên {fmt_num(float(m[1]), 1, lang)} "
            f"tuần số liệu ({fmt_date(m[2])} – {fmt_date(m[3])}), nhân với mức trung bình mỗi ngày "
            f"theo điểm, lĩnh vực và kênh trong {m[4]} tuần gần nhất; ngày làm việc: {days}")
    if m[6]:
        text += "; nghỉ lễ: " + ", ".join(fmt_date(d.strip()) for d in m[6].split(","))
    return text + "."
