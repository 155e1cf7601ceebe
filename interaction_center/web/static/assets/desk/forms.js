// A form's fields as it is submitted, the page staying where it is (no navigation).
export function submitted(event) {
  event.preventDefault();
  return new FormData(event.target);
}
