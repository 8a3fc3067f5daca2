#!/usr/bin/env python3
"""Writes the CSV case files (several encodings cannot be typed by hand). The expected outcome of
each file is in cases.json. `{T1}` / `{T2}` are replaced by real template ids at test time."""
import pathlib

here = pathlib.Path(__file__).parent
def w(name, text, enc="utf-8", bom=b""):
    (here / name).write_bytes(bom + text.encode(enc))

rows_ko = [("minsu.kim@example.com", "김민수"), ("jiwoo.lee@example.com", "이지우"), ("seoyeon.park@example.com", "박서연")]

w("utf8_bom_crlf_quotes.csv",
  "email,name,narrative\r\n"
  "minsu.kim@example.com,김민수,\"프로젝트: 데이터, 분석\"\r\n"
  "jiwoo.lee@example.com,\"이 \"\"지우\"\"\",\"두 줄\r\n설명\"\r\n"
  "seoyeon.park@example.com,박서연,\r\n", bom=b"\xef\xbb\xbf")
w("utf8_semicolon_lf.csv", "E-mail;Full name;Issued on\n" + "".join(f"{e};{n};2026-03-01\n" for e, n in rows_ko))
w("utf16le_tab.csv", "email\tname\tcohort\r\n" + "".join(f"{e}\t{n}\t1기\r\n" for e, n in rows_ko), "utf-16-le", b"\xff\xfe")
w("utf16be_comma.csv", "email,name\r\n" + "".join(f"{e},{n}\r\n" for e, n in rows_ko), "utf-16-be", b"\xfe\xff")
w("cp949_korean_excel.csv", "이메일,이름,발급일,기수\r\n" + "".join(f"{e},{n},2026-03-02,2026-봄\r\n" for e, n in rows_ko), "cp949")
w("euc_kr_headers_seongmyeong.csv", "성명,전자우편\r\n홍길동,hong@example.com\r\n", "euc-kr")
w("aliases_unknown_column.csv", "Email Address,Full name,Shoe size\n" + "".join(f"{e},{n},270\n" for e, n in rows_ko))
w("blank_trailing_lines.csv", "email,name\n" + "".join(f"{e},{n}\n" for e, n in rows_ko) + "\n,\n\n\r\n")
w("spreadsheet_dates.csv",
  "email,name,issued_on,expires_on\n"
  "a@example.com,A,2026/3/1,2030/3/1\n"
  "b@example.com,B,3/1/2026,\n"
  "c@example.com,C,2026. 3. 1.,\n"
  "d@example.com,D,20260301,2031-12-31\n")
w("invalid_rows.csv",
  "email,name,issued_on,evidence_url,locale\n"
  "good@example.com,Good,2026-03-01,https://example.com/e,ko\n"
  "not-an-email,Bad Email,,,\n"
  "empty.name@example.com,,,,\n"
  "bad.date@example.com,Bad Date,2026-02-30,,\n"
  "bad.url@example.com,Bad Url,,javascript:alert(1),\n"
  "=HYPERLINK(\"http://evil\"),Formula,,,\n"
  "bad.locale@example.com,Bad Locale,,,fr\n"
  "good@example.com,Good again,2026-03-01,,\n"
  "another@example.com,Another,,,en\n")
w("template_column.csv", "email,name,template_id\n"
  "a@example.com,A,{T1}\nb@example.com,B,{T2}\nc@example.com,C,tpl_AAAAAAAAAAAAAAAAAAAAAA\nd@example.com,D,nonsense\n")
w("missing_email_column.csv", "name,phone\nKim,010-1234-5678\n")
w("duplicate_columns.csv", "email,E-mail,name\na@example.com,a@example.com,A\n")
w("empty.csv", "")
w("header_only.csv", "email,name\r\n")
(here / "binary.csv").write_bytes(bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001") + bytes(range(256)))
(here / "undecodable.csv").write_bytes(b"email,name\n" + bytes([0x80, 0xff, 0xfe, 0x81, 0xc8, 0x41, 0xff, 0x80]) * 20 + b"\n")
(here / "utf8_broken_mid_file.csv").write_bytes(("email,name\n" + "ok@example.com,OK\n" * 5000).encode() + b"bad@example.com,\xc3\x28\n")
w("excel_sep_hint_semicolon.csv", "sep=;\r\nE-mail;Name;Issued on\r\nmin.kim@example.com;Kim, Minsu;01/03/2026\r\nlee@example.com;Lee;2026-03-01 09:30\r\n")
w("datetimes_without_zone.csv", "email,name,issued_on,expires_on\n"
  "a@example.com,A,2026-03-01 09:00,2031-03-01 09:00:00\nb@example.com,B,2026/3/1 9:00,\n")
# A Korean roster as typed: a hint in the date header, full-width characters (an input method
# left in full-width mode), LibreOffice's two-digit Korean short date, and the numbering, date
# and cohort filled down past the last learner (those rows name nobody: skipped, and said so).
w("korean_roster_filled_down.csv",
  "연번,성명,이메일,발급일(YYYY-MM-DD),기수\r\n"
  "1,김민수,ｍｉｎｓｕ＠ｅｘａｍｐｌｅ．ｋｒ,26. 3. 2.,3기\r\n"
  "2,이지우,jiwoo@example.kr,２０２６－０３－０２,3기\r\n"
  "3,박서연,seoyeon@example.kr,26-03-02,3기\r\n"
  "4,,,26. 3. 2.,3기\r\n"
  "5,,,26. 3. 2.,3기\r\n"
  ",,,,\r\n")
print("written")
