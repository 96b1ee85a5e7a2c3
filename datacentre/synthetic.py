"""A deterministic synthetic sub-district for demos, tests and benchmarks.

``redwall demo-data --residents 20000 --seed 1``: the same seed and reference day give the
same residents, houses, vehicles, parking, organisations and certificates. The shape follows
an old-city sub-district like 西长安街:

* about a quarter of the residents are 60 or older (households of elderly couples and
  elderly people living alone are common); ages are counted on the reference day;
* about four in five hold local household registration (hukou);
* some 3 % are disabled (more among the old), with disability certificates; about 2 % of
  households live on the minimum living allowance (more often with a disabled member);
* many households live in single-storey courtyard houses (平房院落), which have no parking;
  flats are in blocks, some with a car park;
* car ownership is near one car per three households, and parking spaces roughly match it
  except in a few hot-spot grid cells with three to five cars per space, the worst in 西单北社区;
* the certificate library already holds senior cards, disability certificates and cards and
  minimum-living-allowance certificates issued before the system (no issuing case).

Rows are produced in the shape of the CSV import (natural keys) and loaded through the same
upsert as imports (:mod:`datacentre.csv_import`), in bulk and in one transaction.
"""
from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select

from workflows.accounts import Actor
from workflows.context import EngineContext
from workflows.errors import Conflict, Forbidden, InvalidInput
from workflows.unit_of_work import UnitOfWork

from . import identity
from .certificates import years_later
from .csv_import import KINDS, ImportReport, upsert_rows
from .models import Building, Certificate, GridCell, House, Organisation, ParkingSpace, Person, Vehicle

MAX_RESIDENTS = 2_000_000
LOAD_ORDER = ("grid_cells", "buildings", "houses", "people", "vehicles", "parking_spaces", "organisations", "certificates")

COMMUNITIES = ["西单北", "府右街", "六部口", "钟声", "北新华街", "和平门", "未英", "东侧", "司法部街", "西交民巷", "太仆寺街", "新文化街"]
LANES = [
    "堂子胡同", "大木仓胡同", "灵境胡同", "西绒线胡同", "东斜街", "西斜街", "背阴胡同", "兵马司胡同", "辟才胡同", "受水河胡同",
    "高井胡同", "东太平街", "油坊胡同", "兴隆街", "未英胡同", "前细瓦厂胡同", "后细瓦厂胡同", "西安福胡同", "东安福胡同",
    "府右街", "北新华街", "六部口街", "新文化街", "西交民巷", "司法部街", "太仆寺街", "石驸马大街", "鲍家街", "参政胡同", "文华胡同",
]
STREETS = ["西单北大街", "宣武门内大街", "西长安街", "北新华街", "府右街", "新文化街", "民族园路"]
COURTYARD_ROOMS = ["北房", "东厢房", "西厢房", "南房", "倒座房", "东耳房", "西耳房", "后罩房"]
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
)
SURNAME_WEIGHTS = [7.1, 7.0, 6.7, 5.4, 4.5, 3.1, 2.3, 2.2, 2.1, 2.0, 1.7, 1.5, 1.3, 1.3, 1.2, 1.2, 1.2, 1.1, 1.1, 0.9, 0.9,
                   0.8, 0.8, 0.7, 0.7, 0.7, 0.6, 0.6, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.4, 0.4, 0.4, 0.4,
                   0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4]
GIVEN_NAMES = {
    ("male", "old"): "建国 建华 国强 志强 振华 德明 宝山 文华 永利 福来 学军 卫东 长海 春生 树林 金生 玉林 立新 庆丰 振东".split(),
    ("female", "old"): "秀兰 桂英 淑珍 玉兰 凤英 秀英 桂兰 淑华 丽华 秀珍 玉珍 翠华 素芬 凤兰 桂芝 金凤 爱华 红梅 淑芬 玉梅".split(),
    ("male", "mid"): "伟 磊 强 军 勇 涛 斌 鹏 刚 杰 建军 志刚 海涛 晓东 立伟 建伟 文博 宏伟 永强 俊峰".split(),
    ("female", "mid"): "静 丽 敏 燕 艳 娟 霞 芳 婷 莉 丽娜 晓燕 雪梅 海燕 春燕 晓红 丽萍 建英 玉洁 美玲".split(),
    ("male", "young"): "浩然 子轩 宇轩 浩宇 俊杰 梓豪 博文 天佑 一鸣 子墨 明轩 睿 辰 宇航 铭泽 思源 晨阳 奕辰 嘉树 景行".split(),
    ("female", "young"): "欣怡 子涵 梓涵 诗涵 雨萱 可馨 思琪 一诺 佳怡 雨桐 欣妍 梦瑶 语嫣 若曦 紫萱 晨曦 婉清 沐晴 芷若 依诺".split(),
}
ETHNICITIES = ["汉族", "满族", "回族", "蒙古族", "朝鲜族", "土家族"]
ETHNICITY_WEIGHTS = [95.0, 2.5, 1.5, 0.5, 0.3, 0.2]
LOCAL_REGION = "110102"  # 北京市西城区
OTHER_REGIONS = {
    "130102": "河北省石家庄市长安区", "130603": "河北省保定市北市区", "120101": "天津市和平区", "140105": "山西省太原市小店区",
    "150102": "内蒙古自治区呼和浩特市新城区", "210102": "辽宁省沈阳市和平区", "230102": "黑龙江省哈尔滨市道里区",
    "320102": "江苏省南京市玄武区", "370102": "山东省济南市历下区", "410105": "河南省郑州市金水区", "420102": "湖北省武汉市江岸区",
    "430102": "湖南省长沙市芙蓉区", "510104": "四川省成都市锦江区", "610102": "陕西省西安市新城区", "340102": "安徽省合肥市瑶海区",
}
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156", "157",
                   "158", "159", "166", "177", "180", "181", "185", "186", "187", "188", "189", "198", "199"]
DISABILITY_KINDS = ["physical", "visual", "hearing", "speech", "intellectual", "mental", "multiple"]
DISABILITY_KIND_WEIGHTS = [45, 12, 14, 1, 8, 10, 10]
DISABILITY_KIND_DIGIT = {"visual": 1, "hearing": 2, "speech": 3, "physical": 4, "intellectual": 5, "mental": 6, "multiple": 7}
PLATE_LETTERS = "ABCEFGHJKLMNPQ"
PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
USCC_BODY = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# The sub-district's box on the map (around 西单 and 西长安街).
LAT_RANGE = (39.8975, 39.9135)
LON_RANGE = (116.3555, 116.3925)


@dataclass
class District:
    """Rows of every kind, in the shape of the CSV import, plus what the generator chose."""

    as_of: date
    seed: int
    rows: dict[str, list[dict]] = field(default_factory=lambda: {k: [] for k in LOAD_ORDER})
    hot_spots: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.rows.items()}


class _Generator:
    def __init__(self, residents: int, seed: int, as_of: date):
        self.rng = random.Random(seed)
        self.residents = residents
        self.as_of = as_of
        self.district = District(as_of=as_of, seed=seed)
        self.id_numbers: set[str] = set()
        self.plates: set[str] = set()
        self.serial = {"building": 0, "house": 0, "household": 0, "parking": 0, "senior": 0, "lowinc": 0, "card": 0}

    # -- small pieces ------------------------------------------------------------------------
    def next(self, what: str) -> int:
        self.serial[what] += 1
        return self.serial[what]

    def birth_date(self, age: int) -> date:
        latest = self.as_of - timedelta(days=1)
        born = years_later(self.as_of, -age) - timedelta(days=self.rng.randint(0, 364))
        return min(born, latest)

    def id_number(self, region: str, born: date, sex: str) -> str:
        while True:
            sequence = self.rng.randrange(0, 500) * 2 + (1 if sex == "male" else 0)
            first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
            number = first17 + identity.check_character(first17)
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return number

    def name(self, surname: str, sex: str, born: date) -> str:
        era = "old" if born.year < 1965 else "mid" if born.year < 1995 else "young"
        return surname + self.rng.choice(GIVEN_NAMES[(sex, era)])

    def surname(self) -> str:
        return self.rng.choices(SURNAMES, weights=SURNAME_WEIGHTS)[0]

    def phone(self, age: int) -> str | None:
        if age < 14 or self.rng.random() > (0.6 if age >= 80 else 0.93):
            return None
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10 ** 8):08d}"

    def plate(self, electric: bool) -> str:
        while True:
            letter = self.rng.choice(PLATE_LETTERS)
            if electric:
                tail = self.rng.choice("DF") + "".join(self.rng.choice("0123456789") for _ in range(5))
            else:
                chars = [self.rng.choice("0123456789") for _ in range(5)]
                for i in self.rng.sample(range(5), self.rng.choice([0, 0, 1, 1, 2])):
                    chars[i] = self.rng.choice(PLATE_CHARS)
                tail = "".join(chars)
            plate = f"京{letter}{tail}"
            if plate not in self.plates:
                self.plates.add(plate)
                return plate

    def point(self, cell: dict) -> tuple[float, float]:
        lat = cell["lat"] + self.rng.uniform(-0.5, 0.5) * cell["_dlat"]
        lon = cell["lon"] + self.rng.uniform(-0.5, 0.5) * cell["_dlon"]
        return round(lat, 6), round(lon, 6)

    # -- the whole district ----------------------------------------------------------------------
    def run(self) -> District:
        cells = self.grid_cells()
        households = self.households()
        weights = [c["_weight"] for c in cells]
        by_cell: dict[int, list[list[dict]]] = {i: [] for i in range(len(cells))}
        for household in households:
            by_cell[self.rng.choices(range(len(cells)), weights=weights)[0]].append(household)
        for i, cell in enumerate(cells):
            self.settle(cell, by_cell[i])
        self.organisations(cells)
        for cell in cells:
            for private in ("_weight", "_dlat", "_dlon", "_courtyard_share", "_hot", "_lanes", "_vehicles", "_residential"):
                cell.pop(private, None)
        return self.district

    def grid_cells(self) -> list[dict]:
        rng = self.rng
        count = max(4, round(self.residents / 400))
        columns = math.ceil(math.sqrt(count * 1.6))
        rows = math.ceil(count / columns)
        dlat = (LAT_RANGE[1] - LAT_RANGE[0]) / rows
        dlon = (LON_RANGE[1] - LON_RANGE[0]) / columns
        cells = []
        per_community: dict[str, int] = {}
        for i in range(count):
            community = COMMUNITIES[i * len(COMMUNITIES) // count]
            k = per_community[community] = per_community.get(community, 0) + 1
            row, col = divmod(i, columns)
            cells.append({
                "code": f"XC{COMMUNITIES.index(community) + 1:02d}-{k:02d}",
                "name": f"{community}社区第{k}网格",
                "community": f"{community}社区",
                "lat": round(LAT_RANGE[1] - (row + 0.5) * dlat, 6),
                "lon": round(LON_RANGE[0] + (col + 0.5) * dlon, 6),
                "_dlat": dlat, "_dlon": dlon,
                "_weight": rng.uniform(0.7, 1.3),
                "_hot": False,
                "_lanes": rng.sample(LANES, 3),
                "_vehicles": 0,
                "_residential": 0,
            })
        # Hot spots: the first cell of 西单北 (where the article's car park was built) and a few others.
        hot = [0] + rng.sample(range(1, count), min(count - 1, max(1, min(5, count // 12))))
        for i, cell in enumerate(cells):
            cell["_hot"] = i in hot
            cell["_courtyard_share"] = rng.uniform(0.85, 0.97) if cell["_hot"] else rng.uniform(0.2, 0.75)
        self.district.hot_spots = [cells[i]["code"] for i in sorted(hot)]
        self.district.rows["grid_cells"] = cells
        return cells

    def households(self) -> list[list[dict]]:
        """Households as lists of members (relation, age, sex), summing to exactly ``residents``."""
        rng = self.rng
        households, total = [], 0
        while total < self.residents:
            size = min(rng.choices([1, 2, 3, 4, 5, 6], weights=[24, 34, 23, 11, 6, 2])[0], self.residents - total)
            households.append(self.household(size))
            total += size
        return households

    def household(self, size: int) -> list[dict]:
        rng = self.rng
        r = rng.random()
        if r < 0.15:
            head_age = rng.randint(22, 34)
        elif r < 0.64:
            head_age = rng.randint(35, 59)
        elif r < 0.92:
            head_age = rng.randint(60, 79)
        else:
            head_age = min(100, 80 + int(rng.expovariate(1 / 6)))
        head_sex = "male" if rng.random() < 0.55 else "female"
        members = [{"relation": "head", "age": head_age, "sex": head_sex}]
        other = "female" if head_sex == "male" else "male"
        if size >= 2 and head_age >= 24 and rng.random() < 0.88:
            members.append({"relation": "spouse", "age": max(20, head_age + rng.randint(-5, 3)), "sex": other})
        while len(members) < size:
            children = [m for m in members if m["relation"] == "child"]
            if head_age >= 58 and children and rng.random() < 0.6:
                parent_age = children[0]["age"]
                age = max(0, parent_age - rng.randint(24, 34)) if parent_age >= 24 else rng.randint(0, 12)
                members.append({"relation": "grandchild", "age": min(age, 30), "sex": rng.choice(("male", "female"))})
            elif head_age >= 24 and (len(members) < 4 or head_age >= 58 or rng.random() < 0.5):
                members.append({"relation": "child", "age": max(0, head_age - rng.randint(24, 36)), "sex": rng.choice(("male", "female"))})
            elif head_age <= 62:
                members.append({"relation": "parent", "age": min(98, head_age + rng.randint(22, 30)), "sex": rng.choice(("male", "female"))})
            else:
                members.append({"relation": "other", "age": rng.randint(18, 70), "sex": rng.choice(("male", "female"))})
        return members

    def settle(self, cell: dict, households: list[list[dict]]) -> None:
        """Put a cell's households into courtyard houses and blocks; people, cars, parking."""
        rng = self.rng
        courtyard, flats = [], []
        for household in households:
            (courtyard if rng.random() < cell["_courtyard_share"] else flats).append(household)
        lane_numbers = {lane: rng.randint(1, 20) for lane in cell["_lanes"]}
        while courtyard:
            take = courtyard[: rng.randint(1, 7)]
            courtyard = courtyard[len(take):]
            lane = rng.choice(cell["_lanes"])
            lane_numbers[lane] += rng.randint(1, 3)
            address = f"西城区{lane}{lane_numbers[lane]}号"
            building = self.building(cell, "courtyard", address, f"{lane}{lane_numbers[lane]}号院", floors=1, parking=False)
            for k, household in enumerate(take):
                unit = COURTYARD_ROOMS[k] if k < len(COURTYARD_ROOMS) else f"{k + 1}户"
                self.home(cell, building, f"{address}{unit}", unit, household, rng.uniform(12, 45))
        street = rng.choice(STREETS)
        number = rng.randint(1, 60)
        while flats:
            take = flats[: rng.randint(30, 110)]
            flats = flats[len(take):]
            number += rng.randint(1, 4)
            address = f"西城区{street}{number}号楼"
            floors = rng.randint(5, 18)
            parking = rng.random() < 0.55
            building = self.building(cell, "apartment", address, f"{street}{number}号楼", floors=floors, parking=parking)
            per_floor = max(2, math.ceil(len(take) / floors / 2))
            for k, household in enumerate(take):
                entrance, rest = divmod(k, floors * per_floor)
                floor, room = divmod(rest, per_floor)
                unit = f"{entrance + 1}单元{floor + 1}{room + 1:02d}"
                self.home(cell, building, f"{address}{unit}室", unit, household, rng.uniform(35, 110))
            if parking:
                capacity = max(5, round(len(take) * rng.uniform(0.25, 0.6)))
                cell["_residential"] += capacity
                self.parking(cell, "residential", capacity, f"{street}{number}号楼地下车库", building["code"])
        self.street_parking(cell)

    def building(self, cell: dict, kind: str, address: str, name: str, floors: int, parking: bool) -> dict:
        lat, lon = self.point(cell)
        row = {"code": f"B{self.next('building'):06d}", "kind": kind, "address": address, "grid_code": cell["code"],
               "name": name, "lat": lat, "lon": lon, "floors": floors, "has_parking": parking}
        self.district.rows["buildings"].append(row)
        return row

    def home(self, cell: dict, building: dict, address: str, unit: str, members: list[dict], area: float) -> None:
        rng = self.rng
        house = {"code": f"H{self.next('house'):07d}", "building_code": building["code"], "address": address,
                 "unit": unit, "area_m2": round(area, 1)}
        self.district.rows["houses"].append(house)
        household_no = f"HH{self.next('household'):07d}"
        local = rng.random() < 0.8
        region = LOCAL_REGION if local else rng.choice(list(OTHER_REGIONS))
        hukou_address = address if local else OTHER_REGIONS[region]
        head_surname = self.surname()
        spouse_surname = self.surname()
        father_surname = head_surname if members[0]["sex"] == "male" or len(members) < 2 else spouse_surname
        ethnicity = rng.choices(ETHNICITIES, weights=ETHNICITY_WEIGHTS)[0]
        people = []
        for m in members:
            born = self.birth_date(m["age"])
            surname = {"head": head_surname, "spouse": spouse_surname, "parent": head_surname}.get(m["relation"], father_surname)
            if m["relation"] == "other":
                surname = self.surname()
            grade = kind = None
            chance = 0.005 if m["age"] < 18 else 0.018 if m["age"] < 60 else 0.055 if m["age"] < 80 else 0.12
            if rng.random() < chance:
                grade = rng.choices([1, 2, 3, 4], weights=[12, 22, 30, 36])[0]
                kind = rng.choices(DISABILITY_KINDS, weights=DISABILITY_KIND_WEIGHTS)[0]
            people.append({
                "id_number": self.id_number(region, born, m["sex"]),
                "name": self.name(surname, m["sex"], born),
                "hukou_local": local,
                "sex": m["sex"],
                "birth_date": born,
                "ethnicity": ethnicity,
                "phone": self.phone(m["age"]),
                "hukou_address": hukou_address,
                "house_code": house["code"],
                "household_no": household_no,
                "relation_to_head": m["relation"],
                "marital_status": self.marital(m, members),
                "disability_grade": grade,
                "disability_kind": kind,
                "low_income_status": None,
                "status": "active",
            })
        disabled = any(p["disability_grade"] for p in people)
        r = rng.random() / (5 if disabled else 1)
        status = "minimum_living" if r < 0.012 else "low_income" if r < 0.018 else None
        if len(people) == 1 and disabled and members[0]["age"] >= 60 and rng.random() < 0.08:
            status = "extreme_poverty"
        for p in people:
            p["low_income_status"] = status
        self.district.rows["people"].extend(people)
        self.vehicles(cell, building, members, people)
        self.certificates(people, household_no)

    def marital(self, member: dict, members: list[dict]) -> str | None:
        age, relation = member["age"], member["relation"]
        if age < 20:
            return None
        has_spouse = any(m["relation"] == "spouse" for m in members)
        if relation in ("head", "spouse") and has_spouse:
            return "married"
        if relation == "head":
            if age >= 65:
                return self.rng.choices(["widowed", "divorced", "single"], weights=[70, 15, 15])[0]
            return "single" if age < 32 or self.rng.random() < 0.55 else "divorced"
        if relation == "parent":
            return "widowed"
        return "married" if age >= 30 and self.rng.random() < 0.5 else "single"

    def vehicles(self, cell: dict, building: dict, members: list[dict], people: list[dict]) -> None:
        rng = self.rng
        drivers = [p for m, p in zip(members, people) if 25 <= m["age"] <= 75]
        if not drivers:
            return
        chance = 0.62 if cell["_hot"] else 0.27 if building["kind"] == "courtyard" else 0.33
        cars = 0
        if rng.random() < chance:
            cars = 2 if rng.random() < 0.06 else 1
        for _ in range(cars):
            electric = rng.random() < 0.18
            self.district.rows["vehicles"].append(
                {"plate": self.plate(electric), "owner_id_number": rng.choice(drivers)["id_number"], "kind": "ev" if electric else "car"}
            )
            cell["_vehicles"] += 1

    def parking(self, cell: dict, kind: str, capacity: int, name: str, building_code: str | None = None) -> None:
        lat, lon = self.point(cell)
        self.district.rows["parking_spaces"].append({
            "code": f"P{self.next('parking'):06d}", "grid_code": cell["code"], "kind": kind, "capacity": capacity,
            "name": name, "building_code": building_code, "lat": lat, "lon": lon,
        })

    def street_parking(self, cell: dict) -> None:
        rng = self.rng
        vehicles = cell["_vehicles"]
        if cell["code"] == self.district.hot_spots[0]:
            ratio = rng.uniform(5.0, 5.6)  # the worst spot, as in the article (西单北社区)
        else:
            ratio = rng.uniform(3.0, 4.6) if cell["_hot"] else rng.uniform(0.7, 1.25)
        remaining = round(vehicles / ratio) - cell["_residential"]
        if not cell["_hot"] and remaining > 40 and rng.random() < 0.3:
            capacity = min(remaining, rng.randint(40, 150))
            self.parking(cell, "public_lot", capacity, f"{cell['community']}公共停车场")
            remaining -= capacity
        lanes = cell["_lanes"]
        while remaining > 0:
            capacity = min(remaining, rng.randint(6, 30))
            self.parking(cell, "street", capacity, f"{rng.choice(lanes)}路侧停车")
            remaining -= capacity

    def certificates(self, people: list[dict], household_no: str) -> None:
        rng, rows, as_of = self.rng, self.district.rows["certificates"], self.as_of
        for p in people:
            born = p["birth_date"]
            sixty = years_later(born, 60)
            if p["hukou_local"] and sixty <= as_of:
                recent = (as_of - sixty).days < 90
                if rng.random() < (0.3 if recent else 0.93):
                    issued = min(as_of, sixty + timedelta(days=rng.randint(0, 120)))
                    rows.append({"type": "senior_card", "number": f"LNZ{issued.year}{self.next('senior'):07d}",
                                 "holder_id_number": p["id_number"], "issued_on": issued, "valid_from": issued,
                                 "valid_until": None, "status": "valid", "issued_by": "civil_affairs"})
            if p["disability_grade"]:
                earliest = max(born + timedelta(days=365), as_of - timedelta(days=3650 + 300))
                span = max(0, (as_of - earliest).days)
                issued = as_of - timedelta(days=rng.randint(0, span)) if span else as_of
                number = f"{p['id_number']}{DISABILITY_KIND_DIGIT[p['disability_kind']]}{p['disability_grade']}"
                rows.append({"type": "disability_certificate", "number": number, "holder_id_number": p["id_number"],
                             "issued_on": issued, "valid_from": issued, "valid_until": years_later(issued, 10) - timedelta(days=1),
                             "status": "valid", "issued_by": "disabled_federation",
                             "data.grade": str(p["disability_grade"]), "data.kind": p["disability_kind"]})
                if rng.random() < 0.75:
                    card_issued = min(as_of, issued + timedelta(days=rng.randint(10, 90)))
                    rows.append({"type": "disability_card", "number": f"CJK{self.next('card'):010d}",
                                 "holder_id_number": p["id_number"], "issued_on": card_issued, "valid_from": card_issued,
                                 "valid_until": None, "status": "valid", "issued_by": "disabled_federation"})
        head = people[0]
        if head["low_income_status"] == "minimum_living":
            issued = as_of - timedelta(days=rng.randint(0, 360))
            rows.append({"type": "low_income_certificate", "number": f"DB{issued.year}{self.next('lowinc'):06d}",
                         "holder_id_number": head["id_number"], "issued_on": issued, "valid_from": issued,
                         "valid_until": years_later(issued, 1) - timedelta(days=1), "status": "valid",
                         "issued_by": "civil_affairs", "data.household_no": household_no, "data.members": str(len(people))})

    def organisations(self, cells: list[dict]) -> None:
        rng = self.rng
        trades = "华远 金泰 恒通 瑞丰 宏达 兴业 同仁 德胜 长安 新华 京西 鼎盛 和平 福源 嘉禾 天成 博雅 永安 利民 顺发".split()
        shops = ["便利店", "理发店", "小吃店", "水果店", "五金店", "洗衣店", "修车铺", "早点铺"]
        firms = ["科技有限公司", "商贸有限公司", "餐饮管理有限公司", "文化传媒有限公司", "物业管理有限公司", "建筑装饰工程有限公司"]
        kinds = ["enterprise", "individual_business", "social_organisation", "public_institution", "government"]
        prefixes = {"enterprise": "91", "individual_business": "92", "social_organisation": "52", "public_institution": "12", "government": "11"}
        codes: set[str] = set()
        rows = self.district.rows["organisations"]
        count = max(5, self.residents // 100)
        for i in range(count):
            cell = rng.choice(cells)
            kind = rng.choices(kinds, weights=[55, 30, 6, 6, 3])[0]
            trade = rng.choice(trades)
            community = cell["community"]
            name = {
                "enterprise": f"北京{trade}{rng.choice(firms)}",
                "individual_business": f"西城区{trade}{rng.choice(shops)}",
                "social_organisation": rng.choice([f"{community}养老驿站", f"{community}志愿者协会", f"{community}文化活动中心"]),
                "public_institution": rng.choice([f"北京市西城区{trade}小学", f"{community}卫生服务站", f"西城区{trade}幼儿园"]),
                "government": f"{community}居民委员会",
            }[kind]
            while True:
                first17 = prefixes[kind] + LOCAL_REGION + "".join(rng.choice(USCC_BODY) for _ in range(9))
                credit = first17 + identity.credit_code_check_character(first17)
                if credit not in codes:
                    codes.add(credit)
                    break
            lane = rng.choice(cell["_lanes"])
            rows.append({
                "credit_code": credit, "name": name, "kind": kind, "address": f"西城区{lane}{rng.randint(1, 99)}号",
                "grid_code": cell["code"], "legal_representative": self.surname() + rng.choice(GIVEN_NAMES[("male", "mid")]),
                "phone": f"010{rng.randrange(10 ** 8):08d}",
            })


def generate_district(residents: int, seed: int = 1, as_of: date | None = None) -> District:
    """The synthetic sub-district: deterministic for a given ``(residents, seed, as_of)``."""
    if not 1 <= residents <= MAX_RESIDENTS:
        raise InvalidInput(f"residents must be between 1 and {MAX_RESIDENTS}", {"residents": ["out of range"]})
    return _Generator(residents, seed, as_of or date.today()).run()


def load_district(uow: UnitOfWork, tenant_id: int, district: District, now) -> dict[str, int]:
    """Bulk-load a district through the import upsert, in the caller's unit of work."""
    counts = {}
    for kind_name in LOAD_ORDER:
        rows = district.rows[kind_name]
        if not rows:
            counts[kind_name] = 0
            continue
        header = sorted({name for row in rows for name in row})
        report = ImportReport(kind=kind_name, source="synthetic")
        full_rows = ((i + 2, row) for i, row in enumerate(rows))
        upsert_rows(uow, tenant_id, KINDS[kind_name], header, full_rows, report, now)
        if report.rejected:
            first = report.rejected[0]
            raise RuntimeError(f"the generator made a bad {kind_name} row {first.row} ({first.key}): {first.errors}")
        counts[kind_name] = report.inserted + report.updated + report.unchanged
    return counts


def tenant_residents(session, tenant_id: int) -> int:
    return session.scalar(select(func.count(Person.id)).where(Person.tenant_id == tenant_id)) or 0


def clear_tenant(session, tenant_id: int) -> None:
    """Delete every data-centre row of a tenant (``--replace``; demo and benchmark tenants only)."""
    for model in (Certificate, Organisation, ParkingSpace, Vehicle, Person, House, Building, GridCell):
        session.execute(delete(model).where(model.tenant_id == tenant_id))


def generate_demo_data(
    ctx: EngineContext, actor: Actor, residents: int, seed: int = 1, as_of: date | None = None, replace: bool = False
) -> dict:
    """Generate the synthetic sub-district into the caller's tenant, in one transaction (admins).

    Refuses a tenant that already holds residents unless ``replace`` is given, which first
    deletes the tenant's data-centre rows.
    """
    if not actor.has_role("admin"):
        raise Forbidden("only administrators load demo data")
    district = generate_district(residents, seed, as_of)
    with ctx.unit_of_work() as uow:
        s = uow.session
        present = tenant_residents(s, actor.tenant_id)
        if present and not replace:
            raise Conflict(f"the tenant holds {present} residents already; replace them explicitly or use another tenant")
        if present:
            clear_tenant(s, actor.tenant_id)
        now = ctx.clock()
        counts = load_district(uow, actor.tenant_id, district, now)
        uow.record("datacentre.generated", actor.tenant_id, actor=actor.username, at=now,
                   data={"seed": seed, "as_of": district.as_of.isoformat(), "replaced": present, "counts": counts})
        uow.commit()
    return {"counts": counts, "hot_spots": district.hot_spots, "as_of": district.as_of, "replaced": present}


def write_csv(district: District, directory: Path) -> list[Path]:
    """Write the district as import files (``<kind>.csv``), one per kind, in load order."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for i, kind_name in enumerate(LOAD_ORDER, start=1):
        rows = district.rows[kind_name]
        header = list(dict.fromkeys(name for row in rows for name in row))
        path = directory / f"{i:02d}_{kind_name}.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for row in rows:
                writer.writerow([_cell(row.get(name)) for name in header])
        written.append(path)
    return written


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
